using Xunit;

namespace IscsiConvert.Cli.Tests;

public class DemoCliTests
{
    [Fact]
    public void Demo_runs_on_a_fresh_machine_and_says_what_it_did()
    {
        var result = CliRunner.Run("demo");
        Assert.True(result.ExitCode == 0, result.StdErr);
        Assert.Contains("virtual size:", result.StdOut, System.StringComparison.Ordinal);
        Assert.Contains("Done.", result.StdOut, System.StringComparison.Ordinal);
    }
}
