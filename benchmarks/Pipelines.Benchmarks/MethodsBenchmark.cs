using System.Diagnostics;
using Microsoft.ML;
using Pipelines.Examples.Common;

namespace Pipelines.Benchmarks;

/// <summary>
/// Fine-tuning methods where labels are scarce, all from the same pretrained encoder (the tuned
/// Quickstart recipe: 4 x 128 masked-LM, 1,500 steps) on SpamAssassin at 1 % and 10 % of the
/// labels, the same label samples for every method, F1 and AUC on the test split:
/// plain fine-tuning (the recipe), FGM adversarial training (AdversarialEpsilon 1), LoRA (rank 8,
/// learning rate 1e-3, as LoRA is usually run) and one round of self-training (pseudo-labels at
/// probability 0.95 on 200 unlabelled training mails).
///   methods [--seeds=1,2,3] [--steps=1500] [--device=auto] [--out=runs/methods]
/// </summary>
public static class MethodsBenchmark
{
    public static int Run(string[] args)
    {
        string? Arg(string name) => args.FirstOrDefault(a => a.StartsWith($"--{name}="))?[(name.Length + 3)..];
        var seeds = (Arg("seeds") ?? "1,2,3").Split(',').Select(int.Parse).ToArray();
        var steps = int.Parse(Arg("steps") ?? "1500");
        var device = Arg("device") ?? "auto";
        var output = Arg("out") ?? Path.Combine("runs", "methods");
        var clock = Stopwatch.StartNew();
        var (train, test) = SpamAssassin.Load(SpamAssassin.DefaultPath ?? throw new FileNotFoundException("data/spamassassin/emails.jsonl.gz"));
        var recipe = new LabelEfficiencyOptions { PretrainSteps = steps, Device = device };
        var pretrained = LabelEfficiency.Pretrain(new MLContext(seed: 1), train, recipe);
        Console.WriteLine($"pretrained in {pretrained.Elapsed.TotalMinutes:F1} min; seeds {string.Join(", ", seeds)}");
        var testData = new MLContext().Data.LoadFromEnumerable(test);
        var methods = new (string Name, Action<TextClassifierOptions>? Adjust, bool Unlabelled)[]
        {
            ("plain fine-tuning", null, false),
            ("FGM, epsilon 1", o => o.AdversarialEpsilon = 1, false),
            ("LoRA rank 8, lr 1e-3", o => (o.Strategy, o.LearningRate) = (FineTuneStrategy.LoRA, 1e-3), false),
            ("self-training, 1 round", o => (o.SelfTrainingRounds, o.LabelColumnName) = (1, nameof(Email.PartialLabel)), true),
        };
        var results = new List<LabelEfficiencyResult>();
        foreach (var fraction in new[] { 0.01, 0.1 })
            foreach (var seed in seeds)
            {
                var labelled = LabelEfficiency.Sample(train, fraction, seed);
                var ids = labelled.Select(m => m.Id).ToHashSet();
                var pool = new Random(100 + seed);   // a random sample: the corpus is sorted by source
                var unlabelled = train.Where(m => !ids.Contains(m.Id)).OrderBy(_ => pool.Next()).Take(200)
                    .Select(m => new Email { Id = m.Id, Text = m.Text, Label = m.Label, PartialLabel = float.NaN });
                foreach (var (name, adjust, withUnlabelled) in methods)
                {
                    var rows = withUnlabelled ? labelled.Concat(unlabelled).ToList() : labelled;
                    var time = Stopwatch.StartNew();
                    var (f1, auc) = LabelEfficiency.FineTune(new MLContext(seed: 1), pretrained, new MLContext().Data.LoadFromEnumerable(rows), testData,
                        labelled.Count, seed, recipe, fromPretrained: true, adjust);
                    var result = new LabelEfficiencyResult(name, fraction, labelled.Count, seed, f1, auc, time.Elapsed.TotalSeconds);
                    results.Add(result);
                    Console.WriteLine($"  {fraction,5:P0} ({labelled.Count,4} labels) seed {seed}  {name,-24} F1 {f1:F3}  AUC {auc:F3}  ({result.Seconds:F0} s)");
                }
            }
        var table = LabelEfficiency.Table(results);
        Console.WriteLine();
        Console.WriteLine(table);
        Directory.CreateDirectory(output);
        File.WriteAllText(Path.Combine(output, "results.md"), table);
        Console.WriteLine($"total wall time {clock.Elapsed.TotalMinutes:F1} min; results in {output}");
        return 0;
    }
}
