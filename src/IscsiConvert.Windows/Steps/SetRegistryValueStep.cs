using System;
using System.Collections.Generic;
using IscsiConvert.Registry;

namespace IscsiConvert.Windows;

/// <summary>Sets one registry value in an offline hive (SYSTEM, SOFTWARE or DRIVERS); a value that already holds the data is no change.</summary>
public sealed class SetRegistryValueStep : PlanStep
{
    private readonly byte[] _data;

    /// <summary>Sets <paramref name="valueName"/> of <paramref name="key"/> (below the hive's root; <c>CurrentControlSet</c> in SYSTEM means the control set the image boots).</summary>
    /// <param name="hive">SYSTEM, SOFTWARE or DRIVERS.</param>
    /// <param name="key">The key below the hive's root, e.g. <c>CurrentControlSet\Services\Tcpip\Parameters</c>.</param>
    /// <param name="valueName">The value name; "" is the key's default value.</param>
    /// <param name="type">The value's type.</param>
    /// <param name="data">The raw data (see <see cref="RegistryValue"/>'s Encode methods).</param>
    public SetRegistryValueStep(string hive, string key, string valueName, RegistryValueType type, byte[] data)
    {
        Hive = (hive ?? throw new ArgumentNullException(nameof(hive))).ToUpperInvariant();
        if (Hive is not ("SYSTEM" or "SOFTWARE" or "DRIVERS"))
        {
            throw new ArgumentException("The hive is SYSTEM, SOFTWARE or DRIVERS.", nameof(hive));
        }
        Key = (key ?? throw new ArgumentNullException(nameof(key))).Trim('\\');
        ValueName = valueName ?? throw new ArgumentNullException(nameof(valueName));
        Type = type;
        _data = (byte[])(data ?? throw new ArgumentNullException(nameof(data))).Clone();
    }

    /// <summary>A REG_DWORD value.</summary>
    /// <param name="hive">SYSTEM, SOFTWARE or DRIVERS.</param>
    /// <param name="key">The key below the hive's root.</param>
    /// <param name="valueName">The value name.</param>
    /// <param name="value">The number.</param>
    public static SetRegistryValueStep DWord(string hive, string key, string valueName, uint value) =>
        new(hive, key, valueName, RegistryValueType.DWord, RegistryValue.EncodeDWord(value));

    /// <summary>A REG_SZ value.</summary>
    /// <param name="hive">SYSTEM, SOFTWARE or DRIVERS.</param>
    /// <param name="key">The key below the hive's root.</param>
    /// <param name="valueName">The value name.</param>
    /// <param name="value">The text.</param>
    public static SetRegistryValueStep String(string hive, string key, string valueName, string value) =>
        new(hive, key, valueName, RegistryValueType.String, RegistryValue.EncodeString(value ?? throw new ArgumentNullException(nameof(value))));

    /// <summary>SYSTEM, SOFTWARE or DRIVERS.</summary>
    public string Hive { get; }

    /// <summary>The key below the hive's root, as given.</summary>
    public string Key { get; }

    /// <summary>The value name ("" = default value).</summary>
    public string ValueName { get; }

    /// <summary>The type written.</summary>
    public RegistryValueType Type { get; }

    internal override IReadOnlyCollection<string> Hives => new[] { Hive };

    internal override void Plan(BootPlanContext ctx)
    {
        string key = Hive == "SYSTEM" ? RegFileRules.MapControlSet(Key, ctx.ControlSet) : Key;
        ctx.Hive(Hive).Set(key, ValueName, Type, _data);
    }

    /// <inheritdoc/>
    public override string ToString() => $@"set {Hive}\{Key}\{(ValueName.Length == 0 ? "(default)" : ValueName)} = {RegistryExport.TypeName(Type)} {RegistryChange.Render(Type, _data)}";
}
