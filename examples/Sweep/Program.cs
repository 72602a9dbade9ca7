using System.Diagnostics;
using Microsoft.ML;
using Pipelines;
using Pipelines.Examples.Common;

// A hyper-parameter sweep, AutoML style: the search space is declared on a parameters class
// (ClassifierSweepParameters: learning rate on a log scale, LoRA rank from a list), a factory builds the pipeline from one
// configuration, and successive halving spends epochs on the promising configurations only. The
// metric is F1 on a 20 % holdout of a SpamAssassin slice; the leaderboard is printed and saved as
// CSV and JSON (a rerun resumes from the JSON); the best pipeline is refitted, saved as a zip,
// loaded in a new MLContext and scored on the test split.
//   dotnet run -c Release --project examples/Sweep -- [--rows 800] [--configurations 9] [--max-epochs 9] [--minutes 15]
// Options take "--name value" or "--name=value"; --help lists them with their defaults.

var command = new ExampleCommand("A hyper-parameter sweep of the transformer spam classifier with successive halving; the best pipeline is saved as a zip.");
var rowsOption = command.Add("--rows", 800, "training mails in the slice the sweep runs on");
var configurationsOption = command.Add("--configurations", 9, "configurations successive halving starts with");
var maxEpochsOption = command.Add("--max-epochs", 9, "epochs a configuration trains for at most");
var minutesOption = command.Add("--minutes", 15.0, "time budget of the sweep in minutes");
return command.Run(args, run =>
{
    var rows = run.GetRequiredValue(rowsOption);
    var configurations = run.GetRequiredValue(configurationsOption);
    var maxEpochs = run.GetRequiredValue(maxEpochsOption);
    var minutes = run.GetRequiredValue(minutesOption);
    var output = Path.Combine("runs", "sweep-example");
    var clock = Stopwatch.StartNew();
    var (train, test) = SpamAssassin.Load(SpamAssassin.DefaultPath ?? throw new FileNotFoundException("data/spamassassin/emails.jsonl.gz not found"));
    var slice = ClassifierSweep.Slice(train, rows);
    Console.WriteLine($"SpamAssassin slice: {slice.Count} training mails ({slice.Count(e => e.Label)} spam)");

    // The classifiers start from a small masked-LM pretrained on the slice's text (labels unused);
    // the factory builds one pipeline from one configuration (examples/Common/ClassifierSweep.cs).
    var ml = new MLContext(seed: 1);
    var setup = TrainingDisplay.Run("pretraining", progress => ClassifierSweep.Prepare(ml, slice, progress));

    Directory.CreateDirectory(output);
    var zip = Path.Combine(output, "best.zip");
    var sweep = ml.CreateSweep<ClassifierSweepParameters>(setup.Pipeline, new SweepOptions
    {
        Metric = SweepMetrics.BinaryF1(nameof(Email.Label)), MetricName = "F1", HoldoutFraction = 0.2, Seed = 7,
        BudgetProperty = nameof(ClassifierSweepParameters.Epochs), MaxBudget = maxEpochs, IncludeDefaults = true, TimeBudget = TimeSpan.FromMinutes(minutes),
        ResultsPath = Path.Combine(output, "results.json"), RefitBest = true, ModelPath = zip,
        Progress = new Progress<SweepTrial>(t => Console.WriteLine(
            $"  trial {t.Id}: {string.Join(", ", t.Parameters.Select(p => $"{p.Key}={p.Value}"))}, {t.Budget} epochs: F1 {t.Metric:F3} ({t.Seconds:F0} s)")),
    });
    var result = sweep.Run(ml.Data.LoadFromEnumerable(slice), SweepTuner.SuccessiveHalving(configurations, minBudget: 1, eta: 3));
    Console.WriteLine(result.Leaderboard());
    result.SaveCsv(Path.Combine(output, "results.csv"));
    if (result.Best is null) { Console.WriteLine("no trial succeeded"); return 1; }
    Console.WriteLine($"{result.Trials.Count} trials, {result.TotalSteps:N0} training steps in {result.Elapsed.TotalMinutes:F1} min; " +
                      $"best F1 {result.Best.Metric:F3} (trial {result.Best.Id}) against the defaults' {result.Trials[0].Metric:F3}");

    // The best configuration, refitted on the whole slice, as any ML.NET model zip: scored on the test split.
    var context = new MLContext();
    var best = context.Model.Load(zip, out _);
    var metrics = context.BinaryClassification.Evaluate(best.Transform(context.Data.LoadFromEnumerable(test)), nameof(Email.Label));
    Console.WriteLine($"best pipeline loaded in a new MLContext: test split ({test.Count:N0} mails) F1 {metrics.F1Score:F3}, AUC {metrics.AreaUnderRocCurve:F3}");
    var engine = context.Model.CreatePredictionEngine<Email, Verdict>(best);
    foreach (var mail in test.Where(m => m.Label).Take(2).Concat(test.Where(m => !m.Label).Take(2)))
        Console.WriteLine($"  {(mail.Label ? "spam" : "ham "),-4} {engine.Predict(mail).Probability,4:P0} spam: {Preview(mail.Text)}");
    Console.WriteLine($"saved the best pipeline to {zip}; total {clock.Elapsed.TotalMinutes:F1} min");
    return 0;
});

static string Preview(string text) => string.Join(' ', text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries)) is var flat && flat.Length > 70 ? flat[..70] + "..." : flat;

internal sealed class Verdict
{
    public float Probability { get; set; }
}
