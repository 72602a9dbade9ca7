using System.Diagnostics;
using Microsoft.ML;
using Pipelines.Examples.Common;

namespace Pipelines.Benchmarks;

/// <summary>
/// Do the defaults work? The README's headline pipeline, with only the options it shows (a 4 x 128
/// masked-LM, 1,500 steps; a classifier starting from it; everything else default), and the same
/// with LoRA, next to the tuned label-efficiency recipe of the Quickstart at the same pretraining
/// budget (its own settings written out: learning rate 1e-3, 2 heads, full fine-tuning at 3e-4,
/// mean pooling, epochs from the rows), on SpamAssassin at 1 % and 10 % of the labels; F1 and AUC
/// on the test split. The headline's chain pretrains without labels, so
/// its pretraining is fitted once here and each classifier starts from it, as the chain's own
/// classifier would.
/// Fine-tuning with 49 labels varies by several points from one seed to the next, and so does the
/// pretrained model from one pretraining seed to the next, so each recipe pretrains twice
/// (--pretrainings) and each pretrained model is fine-tuned on 5 label samples (--seeds).
/// --runs picks some of those pretraining runs (for example --runs=2 to add a second run to a first).
///   defaults [--pretrainings=2] [--runs=1,2] [--seeds=5] [--steps=1500] [--device=auto] [--out=runs/defaults]
/// </summary>
public static class DefaultsBenchmark
{
    private sealed class Mail
    {
        public string Text { get; set; } = "";
        public float Label { get; set; }
    }

    public static int Run(string[] args)
    {
        string? Arg(string name) => args.FirstOrDefault(a => a.StartsWith($"--{name}="))?[(name.Length + 3)..];
        var path = Arg("data") ?? SpamAssassin.DefaultPath ?? throw new FileNotFoundException("data/spamassassin/emails.jsonl.gz not found");
        var output = Arg("out") ?? Path.Combine("runs", "defaults");
        var seeds = Enumerable.Range(1, int.Parse(Arg("seeds") ?? "5")).ToArray();
        var pretrainings = int.Parse(Arg("pretrainings") ?? "2");
        var runs = Arg("runs")?.Split(',').Select(int.Parse).ToArray() ?? Enumerable.Range(1, pretrainings).ToArray();
        var steps = int.Parse(Arg("steps") ?? "1500");
        var device = Arg("device") ?? "auto";
        double[] fractions = [0.01, 0.1];
        var clock = Stopwatch.StartNew();
        var (train, test) = SpamAssassin.Load(path);
        Console.WriteLine($"SpamAssassin: {train.Count} training mails, {test.Count} test mails; pretraining runs {string.Join(", ", runs)} of {steps} steps per recipe, " +
                          $"{seeds.Length} label samples per fraction and pretraining");
        var testData = new MLContext().Data.LoadFromEnumerable(test);
        var testMails = new MLContext().Data.LoadFromEnumerable(test.Select(m => new Mail { Text = m.Text, Label = m.Label ? 1 : 0 }));
        var results = new List<LabelEfficiencyResult>();

        foreach (var run in runs)
        {
            // (a) The headline pipeline: the options the README shows, nothing else (the seed from the MLContext).
            var ml = new MLContext(seed: run);
            var headline = Stopwatch.StartNew();
            var tokenizer = WordPieceTrainer.TrainTokenizer(train.Select(m => m.Text));
            var pretraining = ml.Pretraining.MaskedLanguageModel(new MaskedLanguageModelOptions { Layers = 4, Hidden = 128, MaxSteps = steps, Device = device });
            var pretrained = ml.Transforms.Text.TokenizeSubwords("Tokens", "Text", tokenizer, maxLength: 128).Append(pretraining)
                .Fit(ml.Data.LoadFromEnumerable(train.Select(m => new Mail { Text = m.Text, Label = float.NaN })))
                .LastTransformer;
            Report($"headline defaults, run {run}", pretrained.Training!, headline.Elapsed);

            // (b) The tuned recipe of the Quickstart and the label-efficiency benchmark.
            var recipe = new LabelEfficiencyOptions { PretrainSteps = steps, Device = device, PretrainSeed = 6 + run };
            var tuned = LabelEfficiency.Pretrain(new MLContext(seed: 1), train, recipe);
            Report($"tuned recipe, run {run}", tuned.Model.Training!, tuned.Elapsed);

            foreach (var fraction in fractions)
                foreach (var seed in seeds)
                {
                    var labelled = LabelEfficiency.Sample(train, fraction, seed);
                    var mails = labelled.Select(m => new Mail { Text = m.Text, Label = m.Label ? 1 : 0 }).ToList();
                    foreach (var (method, strategy) in new[] { ("README pipeline (defaults)", FineTuneStrategy.Full), ("README pipeline, LoRA", FineTuneStrategy.LoRA) })
                    {
                        var context = new MLContext(seed: seed);
                        var time = Stopwatch.StartNew();
                        var model = context.Transforms.Text.TokenizeSubwords("Tokens", "Text", tokenizer, maxLength: 128)
                            .Append(context.BinaryClassification.Trainers.TransformerClassifier(new TextClassifierOptions
                            {
                                Base = EncoderSource.FromTransformer(pretrained), Strategy = strategy, Device = device,
                            }))
                            .Fit(context.Data.LoadFromEnumerable(mails));
                        var metrics = context.BinaryClassification.Evaluate(model.Transform(testMails));
                        model.LastTransformer.Dispose();
                        Add(new LabelEfficiencyResult(method, fraction, labelled.Count, seed, metrics.F1Score, metrics.AreaUnderRocCurve, time.Elapsed.TotalSeconds));
                    }
                    var data = new MLContext().Data.LoadFromEnumerable(labelled);
                    Measure("tuned Quickstart recipe", () => LabelEfficiency.FineTune(new MLContext(seed: 1), tuned, data, testData, labelled.Count, seed, recipe, fromPretrained: true));
                    if (run != 1) continue;   // the baselines need no pretraining: run 1 measures them
                    Measure("from scratch", () => LabelEfficiency.FineTune(new MLContext(seed: 1), tuned, data, testData, labelled.Count, seed, recipe, fromPretrained: false));
                    Measure("ML.NET FeaturizeText + SDCA", () => LabelEfficiency.Classic(new MLContext(seed: 1), data, testData, seed));

                    void Measure(string method, Func<(double F1, double Auc)> fit)
                    {
                        var time = Stopwatch.StartNew();
                        var (f1, auc) = fit();
                        Add(new LabelEfficiencyResult(method, fraction, labelled.Count, seed, f1, auc, time.Elapsed.TotalSeconds));
                    }
                }
        }

        var table = LabelEfficiency.Table(results);
        var gaps = fractions.Select(f =>
        {
            double Mean(string method) => results.Where(r => r.Fraction == f && r.Method == method).Average(r => r.F1);
            var tuned = Mean("tuned Quickstart recipe");
            return $"{f:P0}: README pipeline - tuned = {Mean("README pipeline (defaults)") - tuned:+0.000;-0.000;0.000} F1; with LoRA {Mean("README pipeline, LoRA") - tuned:+0.000;-0.000;0.000}";
        }).ToList();
        Console.WriteLine();
        Console.WriteLine(table);
        gaps.ForEach(Console.WriteLine);
        Directory.CreateDirectory(output);
        File.WriteAllLines(Path.Combine(output, "results.md"), [table, "", .. gaps]);
        File.WriteAllLines(Path.Combine(output, "results.csv"),
            ["method,fraction,labels,seed,f1,auc,seconds", .. results.Select(r => $"{r.Method},{r.Fraction},{r.Labels},{r.Seed},{r.F1:F4},{r.Auc:F4},{r.Seconds:F1}")]);
        Console.WriteLine($"total wall time {clock.Elapsed.TotalMinutes:F1} min; results in {output}");
        return 0;

        void Add(LabelEfficiencyResult r)
        {
            results.Add(r);
            Console.WriteLine($"  {r.Fraction,5:P0} ({r.Labels,4} labels) seed {r.Seed}  {r.Method,-28} F1 {r.F1:F3}  AUC {r.Auc:F3}  ({r.Seconds:F0} s)");
        }
    }

    private static void Report(string name, TrainingResult training, TimeSpan elapsed)
    {
        var v = training.Validations;
        Console.WriteLine($"{name}: pretrained in {elapsed.TotalMinutes:F1} min, validation perplexity {v[0].Perplexity:F0} -> {v[^1].Perplexity:F1}, masked-token accuracy {v[^1].Accuracy:P1}");
    }
}
