using System.Diagnostics;
using Microsoft.ML;
using Pipelines.Examples.Common;

namespace Pipelines.Benchmarks;

/// <summary>
/// A sweep of the LoRA text classifier on a SpamAssassin slice (learning rate on a log scale, LoRA
/// rank, epochs as the budget), starting from a small masked-LM pretrained on the slice's text:
/// random search and successive halving over the same 9 configurations, each with the defaults as
/// trial 0; F1 on a 20 % holdout; training steps and wall time of each; the best pipeline of the
/// halving sweep refitted, saved as a zip, loaded in a new MLContext and scored on the test split.
///   sweep [--rows=800] [--configurations=9] [--max-epochs=9] [--minutes=30] [--out=runs/sweep]
/// </summary>
public static class SweepBenchmark
{
    public static int Run(string[] args)
    {
        string? Arg(string name) => args.FirstOrDefault(a => a.StartsWith($"--{name}="))?[(name.Length + 3)..];
        var rows = int.Parse(Arg("rows") ?? "800");
        var configurations = int.Parse(Arg("configurations") ?? "9");
        var maxEpochs = int.Parse(Arg("max-epochs") ?? "9");
        var budget = TimeSpan.FromMinutes(double.Parse(Arg("minutes") ?? "30"));
        var output = Arg("out") ?? Path.Combine("runs", "sweep");
        var path = SpamAssassin.DefaultPath ?? throw new FileNotFoundException("data/spamassassin/emails.jsonl.gz not found");
        var clock = Stopwatch.StartNew();
        var (allTrain, allTest) = SpamAssassin.Load(path);
        var slice = ClassifierSweep.Slice(allTrain, rows);
        Console.WriteLine($"SpamAssassin slice: {slice.Count} training mails ({slice.Count(e => e.Label)} spam); test split {allTest.Count} mails");

        var ml = new MLContext(seed: 1);
        var setup = ClassifierSweep.Prepare(ml, slice);
        Console.WriteLine($"masked-LM (2 x 64) pretrained on the slice's text in {clock.Elapsed.TotalSeconds:F0} s");

        var data = ml.Data.LoadFromEnumerable(slice);
        Directory.CreateDirectory(output);
        SweepResult<ClassifierSweepParameters> Sweep(string name, SweepTuner tuner, string? zip)
        {
            var options = new SweepOptions
            {
                Metric = SweepMetrics.BinaryF1(nameof(Email.Label)), MetricName = "F1", HoldoutFraction = 0.2, Seed = 7,
                BudgetProperty = nameof(ClassifierSweepParameters.Epochs), MaxBudget = maxEpochs, IncludeDefaults = true,
                TimeBudget = budget, ResultsPath = Path.Combine(output, $"{name}.json"), RefitBest = zip is not null, ModelPath = zip,
                Progress = new Progress<SweepTrial>(t => Console.WriteLine($"  {name} trial {t.Id}: {string.Join(", ", t.Parameters.Select(p => $"{p.Key}={p.Value}"))}, " +
                                                                          $"epochs {t.Budget}: F1 {t.Metric:F4}, {t.Steps} steps, {t.Seconds:F1} s")),
            };
            if (File.Exists(options.ResultsPath)) File.Delete(options.ResultsPath);
            var result = ml.CreateSweep<ClassifierSweepParameters>(setup.Pipeline, options).Run(data, tuner);
            Console.WriteLine($"{name}: {result.Trials.Count} trials, {result.TotalSteps:N0} training steps, {result.TotalBudget} epochs, {result.Elapsed.TotalMinutes:F1} min; " +
                              $"best F1 {result.Best?.Metric:F4} (trial {result.Best?.Id}); defaults F1 {result.Trials[0].Metric:F4}");
            Console.WriteLine(result.Leaderboard());
            return result;
        }

        var random = Sweep("random", SweepTuner.Random(configurations), null);
        var zip = Path.Combine(output, "best.zip");
        var halving = Sweep("halving", SweepTuner.SuccessiveHalving(configurations, minBudget: 1, eta: 3), zip);

        if (halving.Best is null) { Console.WriteLine("no trial succeeded"); return 1; }
        var loaded = new MLContext().Model.Load(zip, out _);
        var test = ml.BinaryClassification.Evaluate(loaded.Transform(ml.Data.LoadFromEnumerable(allTest)), nameof(Email.Label));
        Console.WriteLine($"best halving configuration refitted on the slice, saved to {zip}, loaded in a new MLContext: test split F1 {test.F1Score:F4}, AUC {test.AreaUnderRocCurve:F4}");
        Console.WriteLine();
        Console.WriteLine("| search | trials | training steps | epochs | minutes | best holdout F1 | defaults' F1 |");
        Console.WriteLine("|---|---|---|---|---|---|---|");
        foreach (var (name, r) in new[] { ("random", random), ("successive halving", halving) })
            Console.WriteLine($"| {name} | {r.Trials.Count} | {r.TotalSteps:N0} | {r.TotalBudget} | {r.Elapsed.TotalMinutes:F1} | {r.Best?.Metric:F4} | {r.Trials[0].Metric:F4} |");
        Console.WriteLine($"steps ratio halving / random: {halving.TotalSteps / (double)random.TotalSteps:F2}; total wall time {clock.Elapsed.TotalMinutes:F1} min");
        return 0;
    }
}
