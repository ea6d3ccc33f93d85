using System.Text.RegularExpressions;
using Xunit;

namespace LowLatency.TestSupport;

/// <summary>A line-by-line check of the Prometheus text exposition format 0.0.4 (what a scraper would reject).</summary>
public static partial class PrometheusText
{
    /// <summary>Fails unless every line is a HELP, a TYPE or a sample of the family the last TYPE declared.</summary>
    public static void AssertValid(string text)
    {
        Assert.EndsWith("\n", text, StringComparison.Ordinal);
        string? family = null;
        string? type = null;
        var families = new HashSet<string>(StringComparer.Ordinal);
        foreach (var line in text[..^1].Split('\n'))
        {
            if (Help().Match(line) is { Success: true } help)
            {
                Assert.True(families.Add(help.Groups[1].Value), $"one HELP per family: {line}");
                continue;
            }

            if (Type().Match(line) is { Success: true } declared)
            {
                (family, type) = (declared.Groups[1].Value, declared.Groups[2].Value);
                continue;
            }

            var sample = Sample().Match(line);
            Assert.True(sample.Success, $"not exposition syntax: '{line}'");
            Assert.NotNull(family);
            var name = sample.Groups[1].Value;
            var allowed = type switch
            {
                "counter" => name == family + "_total",
                "histogram" => name == family + "_bucket" || name == family + "_sum" || name == family + "_count",
                _ => name == family,
            };
            Assert.True(allowed, $"'{name}' is not a sample of the {type} {family}");
            if (name.EndsWith("_bucket", StringComparison.Ordinal))
            {
                Assert.Contains("le=\"", line, StringComparison.Ordinal);
            }
        }
    }

    [GeneratedRegex(@"^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) (?:[^\\\n]|\\[\\n])*$")]
    private static partial Regex Help();

    [GeneratedRegex(@"^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$")]
    private static partial Regex Type();

    [GeneratedRegex(@"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{[a-zA-Z_][a-zA-Z0-9_]*=""(?:[^""\\\n]|\\[\\""n])*""(?:,[a-zA-Z_][a-zA-Z0-9_]*=""(?:[^""\\\n]|\\[\\""n])*"")*\})? (?:[+-]?Inf|NaN|[+-]?[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?)$")]
    private static partial Regex Sample();
}
