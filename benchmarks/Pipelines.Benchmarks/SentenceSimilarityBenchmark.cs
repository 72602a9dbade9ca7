using System.Diagnostics;
using Microsoft.ML;
using Microsoft.ML.Data;
using Pipelines.Examples.Common;

namespace Pipelines.Benchmarks;

/// <summary>
/// Sentence-pair regression on the STS Benchmark's shipped genres (data/stsb: headlines, image
/// captions, SNLI; 2,999 training pairs, 625 test pairs): the transformer regressor fine-tuned from
/// a masked-LM pretrained on unlabelled text (the training sentences, plus AG News articles when
/// the shared data folder has them) against the same model from scratch, ML.NET's FeaturizeText of
/// both sentences + SDCA regression, and the untrained word-overlap (Jaccard) score; at 10 % and
/// 100 % of the training labels, 3 seeds; Pearson and Spearman correlation with the gold scores on
/// the test pairs (the benchmark's official measure is Pearson).
///   sts [--seeds=1,2,3] [--steps=3000] [--device=auto] [--out=runs/sts] [--fractions=0.1,1] [--epochs=N] [--lr=3e-4]
///       [--pretrained=runs/sts/pretrained.zip: skip pretraining, reuse the model a run saved]
/// </summary>
public static class SentenceSimilarityBenchmark
{
    public sealed class Pair
    {
        public string Sentence1 { get; set; } = "";
        public string Sentence2 { get; set; } = "";
        public float Label { get; set; }
    }

    private sealed class Text
    {
        public string Sentence1 { get; set; } = "";
    }

    private const int MaxLength = 64, Layers = 4, Hidden = 128;

    public static int Run(string[] args)
    {
        string? Arg(string name) => args.FirstOrDefault(a => a.StartsWith($"--{name}="))?[(name.Length + 3)..];
        var seeds = (Arg("seeds") ?? "1,2,3").Split(',').Select(int.Parse).ToArray();
        var steps = int.Parse(Arg("steps") ?? "3000");
        var device = Arg("device") ?? "auto";
        var output = Arg("out") ?? Path.Combine("runs", "sts");
        var clock = Stopwatch.StartNew();
        var train = Load("data/stsb/train.tsv");
        var test = Load("data/stsb/test.tsv");
        var agNews = DataFiles.Find("data/agnews/train.tsv");
        var unlabelled = train.SelectMany(p => new[] { p.Sentence1, p.Sentence2 }).ToList();
        if (agNews is not null) unlabelled.AddRange(File.ReadLines(agNews).Select(line => line.Split('\t')[0]));
        Console.WriteLine($"STS Benchmark: {train.Count} training pairs, {test.Count} test pairs; pretraining on {unlabelled.Count:N0} unlabelled texts" +
                          (agNews is null ? " (the training sentences only: no shared data/agnews)" : " (training sentences + AG News articles)"));

        var ml = new MLContext(seed: 1);
        var saved = Arg("pretrained");
        MaskedLanguageModelTransformer pretrained;
        if (saved is not null)
        {
            pretrained = MaskedLanguageModelTransformer.FromZip(saved);
            Console.WriteLine($"pretrained model loaded from {saved}");
        }
        else
        {
            var tokenizer = WordPieceTrainer.TrainTokenizer(unlabelled, new WordPieceTrainerOptions { VocabularySize = 8000, MinFrequency = 2 });
            var texts = ml.Data.LoadFromEnumerable(unlabelled.Select(t => new Text { Sentence1 = t }));
            var chain = TrainingDisplay.Run("masked-LM pretraining", progress =>
                ml.Transforms.Text.TokenizeSubwords("Tokens", nameof(Text.Sentence1), tokenizer, MaxLength)
                    .Append(ml.Pretraining.MaskedLanguageModel(new MaskedLanguageModelOptions
                    {
                        Tokenizer = tokenizer, Layers = Layers, Hidden = Hidden, Heads = 2, MaxLength = MaxLength, MaxSteps = steps, BatchSize = 32,
                        WarmupSteps = steps / 20, EvaluateEvery = Math.Max(50, steps / 5), LogEvery = 100, Device = device, Seed = 7, Progress = progress,
                    }))
                    .Fit(texts));
            pretrained = chain.LastTransformer;
            var validations = pretrained.Training!.Validations;
            Console.WriteLine($"pretrained in {clock.Elapsed.TotalMinutes:F1} min; validation perplexity {validations[0].Perplexity:F1} -> {validations[^1].Perplexity:F1}");
            Directory.CreateDirectory(output);
            ml.Model.SaveAtomically(chain, texts.Schema, Path.Combine(output, "pretrained.zip"));
        }
        var epochs = Arg("epochs") is { } e ? int.Parse(e) : (int?)null;
        var learningRate = double.Parse(Arg("lr") ?? "3e-4", System.Globalization.CultureInfo.InvariantCulture);
        var fractions = (Arg("fractions") ?? "0.1,1").Split(',').Select(f => double.Parse(f, System.Globalization.CultureInfo.InvariantCulture)).ToArray();

        var testData = ml.Data.LoadFromEnumerable(test);
        var gold = test.Select(p => (double)p.Label).ToArray();
        var results = new List<(string Method, double Fraction, int Labels, int Seed, double Pearson, double Spearman, double Seconds)>();
        void Report(string method, double fraction, int labels, int seed, double[] predicted, double seconds)
        {
            var (pearson, spearman) = (Correlation.Pearson(predicted, gold), Correlation.Spearman(predicted, gold));
            results.Add((method, fraction, labels, seed, pearson, spearman, seconds));
            Console.WriteLine($"  {fraction,5:P0} ({labels,4} pairs) seed {seed}  {method,-32} Pearson {pearson:F3}  Spearman {spearman:F3}  ({seconds:F0} s)");
        }
        Report("word overlap (Jaccard), untrained", 1, 0, 0, test.Select(p => Jaccard(p.Sentence1, p.Sentence2)).ToArray(), 0);
        foreach (var fraction in fractions)
            foreach (var seed in seeds)
            {
                var random = new Random(seed);
                var sample = fraction < 1 ? train.OrderBy(_ => random.Next()).Take((int)(train.Count * fraction)).ToList() : train;
                var data = ml.Data.LoadFromEnumerable(sample);
                foreach (var fromPretrained in new[] { true, false })
                {
                    var time = Stopwatch.StartNew();
                    var predicted = FineTune(ml, data, testData, sample.Count, pretrained.Tokenizer, fromPretrained ? pretrained : null, seed, device, epochs, learningRate);
                    Report(fromPretrained ? "pretrained + fine-tuned" : "from scratch", fraction, sample.Count, seed, predicted, time.Elapsed.TotalSeconds);
                }
                var classic = Stopwatch.StartNew();
                Report("ML.NET FeaturizeText + SDCA", fraction, sample.Count, seed, Classic(ml, data, testData), classic.Elapsed.TotalSeconds);
            }

        var table = new List<string> { "| method | labels | Pearson | Spearman |", "|---|---|---|---|" };
        foreach (var group in results.GroupBy(r => (r.Method, r.Fraction)))
        {
            string Cell(IEnumerable<double> values) => values.Count() == 1 ? $"{values.First():F3}" : LabelEfficiency.MeanSd(values.ToArray());
            table.Add($"| {group.Key.Method} | {(group.First().Labels == 0 ? "none" : $"{group.Key.Fraction:P0} ({group.First().Labels})")} | " +
                      $"{Cell(group.Select(r => r.Pearson))} | {Cell(group.Select(r => r.Spearman))} |");
        }
        Console.WriteLine();
        Console.WriteLine(string.Join(Environment.NewLine, table));
        Directory.CreateDirectory(output);
        File.WriteAllLines(Path.Combine(output, "results.md"), table);
        File.WriteAllLines(Path.Combine(output, "results.csv"),
            ["method,fraction,labels,seed,pearson,spearman,seconds", .. results.Select(r => $"{r.Method},{r.Fraction},{r.Labels},{r.Seed},{r.Pearson:F4},{r.Spearman:F4},{r.Seconds:F1}")]);
        Console.WriteLine($"total wall time {clock.Elapsed.TotalMinutes:F1} min; results in {output}");
        return 0;
    }

    private static double[] FineTune(MLContext ml, IDataView train, IDataView test, int rows, TextTokenizer tokenizer,
        MaskedLanguageModelTransformer? pretrained, int seed, string device, int? epochs, double learningRate)
    {
        var model = ml.Transforms.Text.TokenizeSubwords("Tokens", nameof(Pair.Sentence1), tokenizer, MaxLength, pairColumnName: nameof(Pair.Sentence2))
            .Append(ml.Regression.Trainers.TransformerRegressor(new TextRegressorOptions
            {
                Base = pretrained is null ? EncoderSource.None : EncoderSource.FromTransformer(pretrained),
                Tokenizer = tokenizer, Layers = Layers, Hidden = Hidden, Heads = 2, MaxLength = MaxLength, SegmentColumnName = "Tokens.SegmentIds",
                Device = device, Seed = seed, ValidationFraction = rows >= 100 ? 0.1 : 0, LogEvery = 1000, MaxEpoch = epochs, LearningRate = learningRate,
            }))
            .Fit(train);
        var scored = model.Transform(test);
        var metrics = ml.Regression.Evaluate(scored);
        Console.WriteLine($"    R squared {metrics.RSquared:F3}, RMSE {metrics.RootMeanSquaredError:F3}");
        var predicted = scored.GetColumn<float>("Score").Select(s => (double)s).ToArray();
        model.LastTransformer.Dispose();
        return predicted;
    }

    // The classic baseline: bag-of-n-gram features of each sentence side by side, SDCA regression.
    private static double[] Classic(MLContext ml, IDataView train, IDataView test)
    {
        var model = ml.Transforms.Text.FeaturizeText("Features1", nameof(Pair.Sentence1))
            .Append(ml.Transforms.Text.FeaturizeText("Features2", nameof(Pair.Sentence2)))
            .Append(ml.Transforms.Concatenate("Features", "Features1", "Features2"))
            .Append(ml.Regression.Trainers.Sdca())
            .Fit(train);
        return model.Transform(test).GetColumn<float>("Score").Select(s => (double)s).ToArray();
    }

    private static double Jaccard(string a, string b)
    {
        static HashSet<string> Words(string s) =>
            s.ToLowerInvariant().Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries).Select(w => w.Trim('.', ',', '"', '\'', '!', '?', ';', ':')).ToHashSet();
        var (x, y) = (Words(a), Words(b));
        return x.Count + y.Count == 0 ? 0 : (double)x.Intersect(y).Count() / x.Union(y).Count();
    }

    private static List<Pair> Load(string relative)
    {
        var path = DataFiles.Find(relative) ?? throw new FileNotFoundException($"{relative} not found");
        return File.ReadLines(path).Select(line => line.Split('\t'))
            .Select(f => new Pair { Label = float.Parse(f[4], System.Globalization.CultureInfo.InvariantCulture), Sentence1 = f[5], Sentence2 = f[6] })
            .ToList();
    }
}

/// <summary>Correlation coefficients between predictions and gold scores.</summary>
public static class Correlation
{
    /// <summary>Pearson's r.</summary>
    public static double Pearson(IReadOnlyList<double> x, IReadOnlyList<double> y)
    {
        var (mx, my) = (x.Average(), y.Average());
        double sxy = 0, sxx = 0, syy = 0;
        for (var i = 0; i < x.Count; i++)
        {
            sxy += (x[i] - mx) * (y[i] - my);
            sxx += (x[i] - mx) * (x[i] - mx);
            syy += (y[i] - my) * (y[i] - my);
        }
        return sxy / Math.Sqrt(sxx * syy);
    }

    /// <summary>Spearman's rho: Pearson's r of the ranks, tied values sharing their mean rank.</summary>
    public static double Spearman(IReadOnlyList<double> x, IReadOnlyList<double> y) =>
        Pearson(Pipelines.Models.Training.ClassificationScores.AverageRanks(x), Pipelines.Models.Training.ClassificationScores.AverageRanks(y));
}
