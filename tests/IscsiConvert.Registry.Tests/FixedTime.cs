using System;

namespace IscsiConvert.Registry.Tests;

/// <summary>A clock that always says the same time, so timestamps written by the library can be checked.</summary>
internal sealed class FixedTime : TimeProvider
{
    public static readonly DateTimeOffset Instant = new(2024, 5, 6, 7, 8, 9, TimeSpan.Zero);

    public override DateTimeOffset GetUtcNow() => Instant;
}
