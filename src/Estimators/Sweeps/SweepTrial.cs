namespace Pipelines;

/// <summary>
/// One trial of a sweep: its parameters (as the search space writes them), the budget it was given,
/// the metric (NaN when it failed), wall time, training steps (summed over this library's trainers
/// in the pipeline; 0 when none reports them) and the error of a failed trial.
/// </summary>
public sealed record SweepTrial(int Id, IReadOnlyDictionary<string, string> Parameters, int Budget, double Metric, double Seconds, long Steps, string? Error)
{
    /// <summary>True when the trial ran to a finite metric.</summary>
    public bool Succeeded => Error is null && double.IsFinite(Metric);

    /// <summary>Identifies the (parameters, budget) pair; a resumed sweep finds its done trials by it.</summary>
    public string Key => KeyOf(Parameters, Budget);

    internal static string KeyOf(IReadOnlyDictionary<string, string> parameters, int budget) =>
        string.Join(";", parameters.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => $"{p.Key}={p.Value}")) + $";budget={budget}";
}
