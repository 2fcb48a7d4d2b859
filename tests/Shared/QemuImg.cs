using System.Text.Json;

namespace IscsiConvert.Tests;

/// <summary>qemu-img as an oracle: info as JSON, check, compare, convert.</summary>
public static class QemuImg
{
    /// <summary>`qemu-img info --output=json` of a file (format probed by qemu unless given).</summary>
    public static JsonElement Info(string path, string? format = null)
    {
        string json = format is null
            ? Oracle.RunChecked("qemu-img", "info", "--output=json", path)
            : Oracle.RunChecked("qemu-img", "info", "--output=json", "-f", format, path);
        using JsonDocument doc = JsonDocument.Parse(json);
        return doc.RootElement.Clone();
    }

    /// <summary>`qemu-img check`; fails the test unless the image has no errors. Returns the output.</summary>
    public static string Check(string path, string format) => Oracle.RunChecked("qemu-img", "check", "-f", format, path);

    /// <summary>
    /// Fails unless qemu says the two images have the same virtual size and the same bytes. Plain `qemu-img compare`
    /// compares only the common length (a larger image passes when its extra area reads as zeros), so the sizes are
    /// compared first, each from `qemu-img info`. Not `compare -s`: qemu 7.2's strict mode also fails on a different
    /// sector allocation status ("block status mismatch"), which differs legitimately between formats (a raw file's
    /// host holes against an image's allocated clusters, qemu's preallocation against ours) while every byte is equal.
    /// </summary>
    public static void AssertIdentical(string a, string formatA, string b, string formatB)
    {
        long sizeA = Info(a, formatA).GetProperty("virtual-size").GetInt64();
        long sizeB = Info(b, formatB).GetProperty("virtual-size").GetInt64();
        Xunit.Assert.True(sizeA == sizeB, $"qemu-img info gives different virtual sizes: {a} is {sizeA} bytes, {b} is {sizeB} bytes");
        ToolResult r = Oracle.Run("qemu-img", "compare", "-f", formatA, "-F", formatB, a, b);
        Xunit.Assert.True(r.ExitCode == 0, $"qemu-img compare says the images differ (exit {r.ExitCode}): {r.StdOut} {r.StdErr}");
    }

    /// <summary>`qemu-img convert -O raw` into <paramref name="output"/>.</summary>
    public static void ConvertToRaw(string path, string format, string output) =>
        Oracle.RunChecked("qemu-img", "convert", "-f", format, "-O", "raw", path, output);
}
