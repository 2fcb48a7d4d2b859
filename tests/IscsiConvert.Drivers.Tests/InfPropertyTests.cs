using System.Collections.Generic;
using System.Linq;
using System.Text;
using CsCheck;
using IscsiConvert.Drivers;
using Xunit;

namespace IscsiConvert.Drivers.Tests;

/// <summary>Generated INF documents, written out with quoting and escaping, parse back to the same sections and entries.</summary>
public sealed class InfPropertyTests
{
    private const string Awkward = " ;,\"%\\=[]\tabcXYZ019._-$";

    private static readonly Gen<string> Value = Gen.String[Gen.Char[Awkward], 0, 12];
    private static readonly Gen<string> Name = Gen.String[Gen.Char.AlphaNumeric, 1, 8];
    private static readonly Gen<(string? Key, string[] Values)> Line =
        Gen.Select(Gen.Bool, Name, Value.Array[1, 5]).Select((hasKey, key, values) => (hasKey ? key : (string?)null, values));
    private static readonly Gen<(string Name, (string? Key, string[] Values)[] Lines)[]> Document =
        Gen.Select(Name, Line.Array[0, 6]).Array[0, 8];

    private static string Quote(string v) => "\"" + v.Replace("\"", "\"\"").Replace("%", "%%") + "\"";

    [Fact]
    public void WrittenDocumentsParseBackToTheSameModel()
    {
        Gen.Select(Document, Gen.Int[0, 3]).Sample((doc, variant) =>
        {
            string eol = variant % 2 == 0 ? "\r\n" : "\n";
            var sb = new StringBuilder();
            sb.Append("[Version]").Append(eol).Append("Signature=\"$Windows NT$\"").Append(eol);
            var expected = new StringBuilder("[Version]\nSignature => $Windows NT$\n");
            for (int i = 0; i < doc.Length; i++)
            {
                // Distinct names (an index prefix) so that merging of repeated sections does not apply here.
                string section = "S" + i + "_" + doc[i].Name;
                sb.Append('[').Append(section).Append(']').Append(eol);
                expected.Append('[').Append(section).Append("]\n");
                foreach ((string? key, string[] values) in doc[i].Lines)
                {
                    sb.Append("  ");
                    if (key is not null)
                    {
                        sb.Append(key).Append(" = ");
                    }
                    sb.Append(string.Join(" , ", values.Select(Quote))).Append("   ; comment, \"with\" stuff").Append(eol);
                    expected.Append(key ?? "<none>").Append(" => ").Append(string.Join(" | ", values)).Append('\n');
                }
            }
            byte[] bytes = variant < 2
                ? Encoding.UTF8.GetBytes(sb.ToString())
                : new byte[] { 0xFF, 0xFE }.Concat(Encoding.Unicode.GetBytes(sb.ToString())).ToArray();
            InfFile inf = InfFile.Parse(bytes, "generated.inf");
            Assert.Equal(expected.ToString(), InfGrammarTests.Dump(inf));
        }, iter: 300);
    }
}
