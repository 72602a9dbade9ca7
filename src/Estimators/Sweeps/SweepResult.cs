using Pipelines.Models.Checkpoints;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.ML;

namespace Pipelines;

/// <summary>What a sweep did: every trial, the best one, its parameters and refitted model, and what the trials cost.</summary>
public sealed class SweepResult<T> where T : class, new()
{
    internal SweepResult(IReadOnlyList<SweepTrial> trials, SweepTrial? best, T? bestParameters, ITransformer? bestModel, string metricName, bool maximize, TimeSpan elapsed)
    {
        (Trials, Best, BestParameters, BestModel, MetricName, Maximize, Elapsed) = (trials, best, bestParameters, bestModel, metricName, maximize, elapsed);
    }

    /// <summary>Every trial in the order run (resumed trials first).</summary>
    public IReadOnlyList<SweepTrial> Trials { get; }
    /// <summary>The best succeeded trial at the largest budget any succeeded trial reached; null if none succeeded.</summary>
    public SweepTrial? Best { get; }
    /// <summary>The best trial's parameters, with its budget set.</summary>
    public T? BestParameters { get; }
    /// <summary>The best pipeline refitted on all the data (null when refitting was off or nothing succeeded).</summary>
    public ITransformer? BestModel { get; }
    /// <summary>Name of the metric.</summary>
    public string MetricName { get; }
    /// <summary>True when higher was better.</summary>
    public bool Maximize { get; }
    /// <summary>Wall time of this run (not counting resumed trials).</summary>
    public TimeSpan Elapsed { get; }
    /// <summary>Training steps over all trials (this library's trainers report them).</summary>
    public long TotalSteps => Trials.Sum(t => t.Steps);
    /// <summary>Budget units over all trials (e.g. epochs).</summary>
    public long TotalBudget => Trials.Sum(t => (long)t.Budget);

    /// <summary>The leaderboard: succeeded trials best first, then the failed ones with their errors.</summary>
    public string Leaderboard()
    {
        var names = Trials.SelectMany(t => t.Parameters.Keys).Distinct().ToList();
        var text = new StringBuilder();
        text.AppendLine($"| rank | trial | {string.Join(" | ", names)} | budget | {MetricName} | steps | seconds |");
        text.AppendLine($"|---|---|{string.Concat(names.Select(_ => "---|"))}---|---|---|---|");
        var ranked = Trials.Where(t => t.Succeeded).OrderByDescending(t => t.Budget).ThenByDescending(t => Maximize ? t.Metric : -t.Metric).ThenBy(t => t.Id)
            .Concat(Trials.Where(t => !t.Succeeded)).ToList();
        for (var i = 0; i < ranked.Count; i++)
        {
            var t = ranked[i];
            var metric = t.Succeeded ? t.Metric.ToString("F4", CultureInfo.InvariantCulture) : $"failed: {t.Error}";
            text.AppendLine($"| {(t.Succeeded ? (i + 1).ToString(CultureInfo.InvariantCulture) : "-")} | {t.Id} | " +
                            $"{string.Join(" | ", names.Select(n => Short(t.Parameters.GetValueOrDefault(n, ""))))} | {t.Budget} | {metric} | {t.Steps} | {t.Seconds:F1} |");
        }
        return text.ToString();
    }

    /// <inheritdoc/>
    public override string ToString() => Leaderboard();

    /// <summary>Writes the trials as CSV: id, each parameter, budget, metric, steps, seconds, error.</summary>
    public void SaveCsv(string path) => SweepFiles.WriteCsv(path, Trials);

    /// <summary>Writes the trials as JSON (the format <see cref="SweepOptions.ResultsPath"/> resumes from).</summary>
    public void SaveJson(string path) => SweepFiles.WriteJson(path, Trials);

    private static string Short(string value) =>
        double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && value.Length > 8 ? d.ToString("G4", CultureInfo.InvariantCulture) : value;
}

/// <summary>Reads and writes sweep results (JSON to resume from, CSV to read), atomically.</summary>
internal static class SweepFiles
{
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true, AllowTrailingCommas = true,
        NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals };

    public static void WriteJson(string path, IReadOnlyList<SweepTrial> trials) =>
        AtomicFile.WriteAllText(path, JsonSerializer.Serialize(trials.Select(t => new TrialRecord(t.Id, new(t.Parameters), t.Budget, t.Metric, t.Seconds, t.Steps, t.Error)).ToList(), Json));

    public static List<SweepTrial> ReadJson(string path)
    {
        try
        {
            var records = JsonSerializer.Deserialize<List<TrialRecord>>(File.ReadAllText(path), Json) ?? [];
            return records.Select(r => new SweepTrial(r.Id, r.Parameters ?? [], r.Budget, r.Metric, r.Seconds, r.Steps, r.Error)).ToList();
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"Sweep results file '{path}' is not a results file this library wrote: {e.Message}", e);
        }
    }

    public static void WriteCsv(string path, IReadOnlyList<SweepTrial> trials)
    {
        var names = trials.SelectMany(t => t.Parameters.Keys).Distinct().ToList();
        var lines = new List<string> { string.Join(",", ["id", .. names, "budget", "metric", "steps", "seconds", "error"]) };
        lines.AddRange(trials.Select(t => string.Join(",", [t.Id.ToString(CultureInfo.InvariantCulture), .. names.Select(n => Quote(t.Parameters.GetValueOrDefault(n, ""))),
            t.Budget.ToString(CultureInfo.InvariantCulture), t.Metric.ToString("R", CultureInfo.InvariantCulture), t.Steps.ToString(CultureInfo.InvariantCulture),
            t.Seconds.ToString("F2", CultureInfo.InvariantCulture), Quote(t.Error ?? "")])));
        AtomicFile.WriteAllText(path, string.Join(Environment.NewLine, lines) + Environment.NewLine);
    }

    private static string Quote(string value) => value.IndexOfAny([',', '"', '\n', '\r']) < 0 ? value : "\"" + value.Replace("\"", "\"\"") + "\"";

    private sealed record TrialRecord(int Id, Dictionary<string, string>? Parameters, int Budget, double Metric, double Seconds, long Steps, string? Error);
}
