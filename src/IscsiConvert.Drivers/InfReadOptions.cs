namespace IscsiConvert.Drivers;

/// <summary>How to read an INF file.</summary>
public sealed class InfReadOptions
{
    /// <summary>
    /// Accept INX templates and other text setup would not install: placeholders such as <c>$ARCH$</c> and
    /// <c>INX_…</c> stay as text, undefined <c>%strkey%</c> tokens stay as written, and a missing or odd
    /// [Version] signature is a warning. Text errors (binary data, unterminated quotes, over-long lines) still throw.
    /// </summary>
    public bool Tolerant { get; set; }

    /// <summary>
    /// The language of [Strings.LLLL] sections to prefer, as four hex digits of a LANGID (such as "0409" for English
    /// (United States)); strings missing there come from [Strings]. Null: only [Strings].
    /// </summary>
    public string? Locale { get; set; }

    /// <summary>
    /// Replace <c>$ARCH$</c> in the text with this architecture (x86, amd64, arm64) as stampinf does when it turns an
    /// INX template into an INF. Null: leave it.
    /// </summary>
    public string? TemplateArchitecture { get; set; }

    /// <summary>The folder where INFs named by Include= are looked for (usually \Windows\INF of the target). Null: the INF's own folder only.</summary>
    public string? IncludeSearchFolder { get; set; }
}
