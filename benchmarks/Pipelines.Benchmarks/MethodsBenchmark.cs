using System.Diagnostics;
using Microsoft.ML;
using Pipelines.Examples.Common;

namespace Pipelines.Benchmarks;

/// <summary>
/// Fine-tuning methods where labels are scarce, all from the same pretrained encoder (the tuned
/// Quickstart recipe: 4 x 128 masked-LM, 1,500 steps) on SpamAssassin at 1 % and 10 % of the
/// labels, the same label samples for every method, F1 and AUC on the test split:
/// plain fine-tuning (the recipe), FGM adversarial training (AdversarialEpsilon 1), PGD (3 steps),
/// LoRA (rank 8, learning rate 1e-3, as LoRA is usually run), bottleneck adapters (Houlsby, 32
/// units, 1e-3), the joint objective (masked-LM weight 0.5), prompt-based fine-tuning and
/// zero-shot (template and verbalizer below), and one round of self-training (pseudo-labels at
/// probability 0.95 on 200 unlabelled training mails).
///   methods [--seeds=1,2,3] [--steps=1500] [--device=auto] [--only=name,name] [--out=runs/methods]
/// --only keeps the methods whose name contains one of the given words ("plain" is always kept).
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
        var only = Arg("only")?.Split(',');
        var clock = Stopwatch.StartNew();
        var (train, test) = SpamAssassin.Load(SpamAssassin.DefaultPath ?? throw new FileNotFoundException("data/spamassassin/emails.jsonl.gz"));
        var recipe = new LabelEfficiencyOptions { PretrainSteps = steps, Device = device };
        var pretrained = LabelEfficiency.Pretrain(new MLContext(seed: 1), train, recipe);
        Console.WriteLine($"pretrained in {pretrained.Elapsed.TotalMinutes:F1} min; seeds {string.Join(", ", seeds)}");
        var testData = new MLContext().Data.LoadFromEnumerable(test);
        (double, double) Classifier(IDataView data, int rows, int seed, Action<TextClassifierOptions>? adjust) =>
            LabelEfficiency.FineTune(new MLContext(seed: 1), pretrained, data, testData, rows, seed, recipe, fromPretrained: true, adjust);
        var methods = new (string Name, Func<IDataView, int, int, (double F1, double Auc)> Run, bool Unlabelled)[]
        {
            ("plain fine-tuning", (d, n, s) => Classifier(d, n, s, null), false),
            ("FGM, epsilon 1", (d, n, s) => Classifier(d, n, s, o => o.AdversarialEpsilon = 1), false),
            ("PGD, epsilon 1, 3 steps", (d, n, s) => Classifier(d, n, s, o => (o.AdversarialEpsilon, o.AdversarialSteps) = (1, 3)), false),
            ("LoRA rank 8, lr 1e-3", (d, n, s) => Classifier(d, n, s, o => (o.Strategy, o.LearningRate) = (FineTuneStrategy.LoRA, 1e-3)), false),
            ("adapters 32, lr 1e-3", (d, n, s) => Classifier(d, n, s, o => (o.Strategy, o.LearningRate) = (FineTuneStrategy.Adapters, 1e-3)), false),
            ("joint masked-LM, lambda 0.5", (d, n, s) => Classifier(d, n, s, o => o.MaskedLmWeight = 0.5), false),
            ("prompt-based fine-tuning", (d, n, s) => Prompt(pretrained, d, testData, n, s, recipe, zeroShot: false), false),
            ("prompt-based zero-shot (no labels)", (d, n, s) => Prompt(pretrained, d, testData, n, s, recipe, zeroShot: true), false),
            ("self-training, 1 round", (d, n, s) => Classifier(d, n, s, o => (o.SelfTrainingRounds, o.LabelColumnName) = (1, nameof(Email.PartialLabel))), true),
        };
        if (only is not null) methods = methods.Where(m => m.Name.StartsWith("plain") || only.Any(o => m.Name.Contains(o, StringComparison.OrdinalIgnoreCase))).ToArray();
        var results = new List<LabelEfficiencyResult>();
        foreach (var fraction in new[] { 0.01, 0.1 })
            foreach (var seed in seeds)
            {
                var labelled = LabelEfficiency.Sample(train, fraction, seed);
                var ids = labelled.Select(m => m.Id).ToHashSet();
                var pool = new Random(100 + seed);   // a random sample: the corpus is sorted by source
                var unlabelled = train.Where(m => !ids.Contains(m.Id)).OrderBy(_ => pool.Next()).Take(200)
                    .Select(m => new Email { Id = m.Id, Text = m.Text, Label = m.Label, PartialLabel = float.NaN });
                foreach (var (name, run, withUnlabelled) in methods)
                {
                    var rows = withUnlabelled ? labelled.Concat(unlabelled).ToList() : labelled;
                    var time = Stopwatch.StartNew();
                    var (f1, auc) = run(new MLContext().Data.LoadFromEnumerable(rows), labelled.Count, seed);
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

    /// <summary>The cloze the prompt-based rows use: the mail, then a sentence whose last word the masked-LM fills.</summary>
    public const string Template = "{text} This mail is [MASK].";

    /// <summary>
    /// Class words: spam's common pitch words and the mailing-list talk of SpamAssassin's ham (its ham
    /// is mostly technical lists), each a single piece of the benchmark's 8,000-piece vocabulary.
    /// </summary>
    public static readonly Dictionary<string, string[]> Words = new()
    {
        ["True"] = ["free", "money", "offer", "business", "click", "order"],
        ["False"] = ["list", "thanks", "linux", "wrote", "code", "problem"],
    };

    // Prompt-based classification from the same encoder with the recipe's schedule (zero-shot: no training).
    private static (double F1, double Auc) Prompt(LabelEfficiency.Pretrained pretrained, IDataView train, IDataView test, int rows, int seed,
        LabelEfficiencyOptions recipe, bool zeroShot)
    {
        var ml = new MLContext(seed: 1);
        var options = new PromptClassifierOptions
        {
            Base = EncoderSource.FromTransformer(pretrained.Model), Template = Template, Verbalizer = Words, ZeroShot = zeroShot,
            MaxLength = recipe.MaxLength, MaxEpoch = Math.Clamp(recipe.FineTuneStepsTarget * 16 / rows, 3, 30), BatchSize = 16, LearningRate = 3e-4,
            Device = recipe.Device, Seed = seed, ValidationFraction = rows >= 100 ? 0.1 : 0, LogEvery = 1000, LabelColumnName = nameof(Email.Label),
        };
        var model = ml.Transforms.Text.TokenizeSubwords("Tokens", nameof(Email.Text), pretrained.Tokenizer, recipe.MaxLength)
            .Append(ml.BinaryClassification.Trainers.PromptClassifier(options))
            .Fit(train);
        var metrics = ml.BinaryClassification.Evaluate(model.Transform(test));
        if (!_wordsShown)
            Console.WriteLine($"  verbalizer in the vocabulary: {string.Join("; ", model.LastTransformer.ClassNames.Zip(model.LastTransformer.ClassWords, (c, w) => $"{c} = {string.Join(", ", w)}"))}");
        _wordsShown = true;
        model.LastTransformer.Dispose();
        return (metrics.F1Score, metrics.AreaUnderRocCurve);
    }

    private static bool _wordsShown;
}
