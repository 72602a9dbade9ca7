using System.Diagnostics;
using Microsoft.ML;
using Microsoft.ML.Data;
using Pipelines.Models;
using Pipelines.Models.Training;

namespace Pipelines.Examples.Common;

/// <summary>The settings of a label-efficiency comparison.</summary>
public sealed record LabelEfficiencyOptions
{
    /// <summary>Fractions of the training labels the classifiers may use.</summary>
    public double[] Fractions { get; init; } = [0.01, 0.1, 1.0];
    /// <summary>Seeds: each fraction is sampled and trained once per seed.</summary>
    public int[] Seeds { get; init; } = [1, 2, 3];
    /// <summary>WordPiece vocabulary size trained on the training texts.</summary>
    public int VocabularySize { get; init; } = 8000;
    /// <summary>Tokens per mail (its start).</summary>
    public int MaxLength { get; init; } = 128;
    /// <summary>Encoder blocks.</summary>
    public int Layers { get; init; } = 4;
    /// <summary>Encoder width.</summary>
    public int Hidden { get; init; } = 128;
    /// <summary>Masked-LM pretraining steps (batch 32).</summary>
    public int PretrainSteps { get; init; } = 1500;
    /// <summary>Fine-tuning steps aimed at per run: epochs = clamp(this x batch / rows, 3, 30).</summary>
    public int FineTuneStepsTarget { get; init; } = 200;
    /// <summary>
    /// Words per pretraining row when the whole of every mail is pretrained on, cut into chunks; 0 (the
    /// default) pretrains on each mail's start only (its first <see cref="MaxLength"/> tokens), what fine-tuning reads.
    /// </summary>
    public int PretrainChunkWords { get; init; }
    /// <summary>Peak learning rate of the pretraining.</summary>
    public double PretrainLearningRate { get; init; } = 1e-3;
    /// <summary>Pre-layer-norm encoder blocks (budget-BERT recipes) instead of BERT's post-layer-norm.</summary>
    public bool PretrainPreLayerNorm { get; init; }
    /// <summary>Dropout while pretraining (fine-tuning keeps its own, 0.1); budget-BERT recipes pretrain without.</summary>
    public double PretrainDropout { get; init; } = 0.1;
    /// <summary>Masked-LM or ELECTRA's replaced-token detection.</summary>
    public EncoderObjective Objective { get; init; } = EncoderObjective.MaskedLanguageModel;
    /// <summary>Peak learning rate of fine-tuning.</summary>
    public double FineTuneLearningRate { get; init; } = 3e-4;
    /// <summary>Labelled rows held out to choose the epoch (from 100 labelled rows on; below, none).</summary>
    public double FineTuneValidationFraction { get; init; } = 0.1;
    /// <summary>
    /// 0 (the default): the transformers read each text's start. N: they read its first N and last N words (the
    /// whole text when it is shorter), as "head + tail" truncation does; the classic baseline reads every word.
    /// </summary>
    public int HeadTailWords { get; init; }
    /// <summary>
    /// 0 (the default): the pretrained embedding SDCA reads (<see cref="LabelEfficiency.FeaturesMethod"/>) is of each
    /// text's start. N: the mean of the embeddings of its N-word chunks, so every word of a long mail reaches the encoder.
    /// </summary>
    public int EmbeddingChunkWords { get; init; }
    /// <summary>
    /// Copies of the unit embedding next to the n-grams in SDCA's features: k copies weigh it as a sqrt(k) times longer
    /// vector would (SDCA's L2 penalty spreads over the copies), and stay an ordinary, saveable ML.NET pipeline.
    /// </summary>
    public int EmbeddingCopies { get; init; } = 1;
    /// <summary>
    /// 0 (the default): the embedding is the masked-LM transformer's Embedding column (the last block's mean). k: the
    /// means of the last k blocks' outputs, concatenated.
    /// </summary>
    public int EmbeddingLayers { get; init; }
    /// <summary>Seed of the masked-LM pretraining.</summary>
    public int PretrainSeed { get; init; } = 7;
    /// <summary>"auto", "cpu", "cuda".</summary>
    public string Device { get; init; } = "auto";
    /// <summary>Receives pretraining progress.</summary>
    public IProgress<TrainingProgress>? Progress { get; init; }
    /// <summary>
    /// Methods compared (names as the table prints them); null: pretrained + fine-tuned, the features method, from
    /// scratch and FeaturizeText + SDCA (and self-training when <see cref="SelfTrainingRounds"/> is set).
    /// </summary>
    public string[]? Methods { get; init; }
    /// <summary>
    /// Rounds of self-training on the training mails left unlabelled (at least one when <see cref="Methods"/> names a
    /// self-training method); above 0 with <see cref="Methods"/> null, "pretrained + self-training" is run too.
    /// </summary>
    public int SelfTrainingRounds { get; init; }
    /// <summary>Probability of its class a pseudo-labelled mail needs.</summary>
    public double PseudoLabelThreshold { get; init; } = 0.9;
    /// <summary>
    /// A model zip to reuse the pretraining of an earlier run: loaded when the file exists (the other
    /// pretraining settings are then not read), else written after pretraining. Null: pretrain, keep nothing.
    /// </summary>
    public string? PretrainedPath { get; init; }
}

/// <summary>One trained classifier's test scores.</summary>
public sealed record LabelEfficiencyResult(string Method, double Fraction, int Labels, int Seed, double F1, double Auc, double Seconds);

/// <summary>
/// The experiment the product stands for: (a) a masked-LM pretrained on every training text (no
/// labels) and then fine-tuned, (b) the same model trained from scratch, (c) ML.NET's classic text
/// baseline (FeaturizeText + SDCA logistic regression), (d) SDCA on the n-grams next to (a)'s frozen
/// embedding, each given a fraction of the labels.
/// </summary>
public static partial class LabelEfficiency
{
    /// <summary>Pretrained masked-LM and its tokenizer, made once per experiment.</summary>
    public sealed record Pretrained(TextTokenizer Tokenizer, MaskedLanguageModelTransformer Model, TimeSpan Elapsed);

    /// <summary>Trains the vocabulary and pretrains the masked-LM on <paramref name="train"/>'s texts (labels unused).</summary>
    public static Pretrained Pretrain(MLContext ml, IReadOnlyList<Email> train, LabelEfficiencyOptions options)
    {
        var clock = Stopwatch.StartNew();
        if (options.PretrainedPath is { } saved && File.Exists(saved))
        {
            var loaded = MaskedLanguageModelTransformer.FromZip(saved);
            if ((loaded.Config.Layers, loaded.Config.Hidden) != (options.Layers, options.Hidden) || loaded.Config.MaxSequenceLength < options.MaxLength)
                throw new InvalidOperationException($"{saved} holds a {loaded.Config.Layers} x {loaded.Config.Hidden} model of {loaded.Config.MaxSequenceLength} positions, " +
                                                    $"not the {options.Layers} x {options.Hidden} of {options.MaxLength} asked for: name another file to pretrain anew.");
            Console.WriteLine($"pretrained masked-LM loaded from {saved} (its pretraining is not rerun)");
            return new Pretrained(loaded.Tokenizer, loaded, TimeSpan.Zero);
        }
        var tokenizer = WordPieceTrainer.TrainTokenizer(train.Select(e => e.Text),
            new WordPieceTrainerOptions { VocabularySize = options.VocabularySize, MinFrequency = 2 });
        Console.WriteLine($"WordPiece vocabulary of {tokenizer.VocabSize:N0} trained in {clock.Elapsed.TotalSeconds:F0} s");
        var estimator = ml.Transforms.Text.TokenizeSubwords("Tokens", nameof(Email.Text), tokenizer, options.MaxLength)
            .Append(ml.Pretraining.MaskedLanguageModel(new MaskedLanguageModelOptions
            {
                Tokenizer = tokenizer, Layers = options.Layers, Hidden = options.Hidden, Heads = Math.Max(2, options.Hidden / 64),
                MaxLength = options.MaxLength, MaxSteps = options.PretrainSteps, BatchSize = 32, LearningRate = options.PretrainLearningRate,
                WarmupSteps = options.PretrainSteps / 20, EvaluateEvery = Math.Max(50, options.PretrainSteps / 6), LogEvery = 100,
                Device = options.Device, Progress = options.Progress, Seed = options.PretrainSeed, Objective = options.Objective,
                PreLayerNorm = options.PretrainPreLayerNorm, Dropout = options.PretrainDropout,
            }));
        var corpus = options.PretrainChunkWords > 0 ? Chunks(train, options.PretrainChunkWords) : train;
        if (options.PretrainChunkWords > 0) Console.WriteLine($"pretraining on {corpus.Count:N0} chunks of up to {options.PretrainChunkWords} words cut from the {train.Count:N0} mails");
        var chain = estimator.Fit(ml.Data.LoadFromEnumerable(corpus));
        if (options.PretrainedPath is { } path) ml.Model.SaveAtomically(chain.LastTransformer, null, path);
        return new Pretrained(tokenizer, chain.LastTransformer, clock.Elapsed);
    }

    /// <summary>Every mail's whole text cut into rows of at most <paramref name="words"/> whitespace-separated words, in order.</summary>
    public static List<Email> Chunks(IReadOnlyList<Email> mails, int words) =>
        Pieces(mails, words).Select(p => new Email { Text = p.Text, Id = mails[p.Row].Id }).ToList();

    /// <summary>Runs every method for every fraction and seed; <paramref name="report"/> gets each result as it comes.</summary>
    public static List<LabelEfficiencyResult> Compare(MLContext ml, Pretrained pretrained, IReadOnlyList<Email> train, IReadOnlyList<Email> test,
        LabelEfficiencyOptions options, Action<LabelEfficiencyResult> report)
    {
        var results = new List<LabelEfficiencyResult>();
        var testData = ml.Data.LoadFromEnumerable(test);
        var testRead = ml.Data.LoadFromEnumerable(Read(test, options));
        var testEmbeddings = new Lazy<float[][]>(() => Embeddings(ml, pretrained, test, options));   // the encoder is frozen: once
        foreach (var fraction in options.Fractions)
            foreach (var seed in options.Seeds)
            {
                var labelled = Sample(train, fraction, seed);
                foreach (var method in MethodNames(options))
                {
                    var clock = Stopwatch.StartNew();
                    var (f1, auc) = method switch
                    {
                        ClassicMethod => Classic(ml, ml.Data.LoadFromEnumerable(labelled), testData, seed),
                        SelfTrainingMethod or EnsembleSelfTrainingMethod => SelfTrain(ml, pretrained, labelled, Unlabelled(train, labelled), testRead, seed, options,
                            ensemble: method == EnsembleSelfTrainingMethod),
                        FeaturesMethod => Evaluate(ml, test, FeatureProbabilities(ml, pretrained, labelled, test, testEmbeddings.Value, options)),
                        FusionMethod => Fusion(ml, pretrained, labelled, test, testRead, testEmbeddings.Value, seed, options),
                        _ => FineTune(ml, pretrained, ml.Data.LoadFromEnumerable(Read(labelled, options)), testRead, labelled.Count, seed, options, fromPretrained: method == PretrainedMethod),
                    };
                    var result = new LabelEfficiencyResult(method, fraction, labelled.Count, seed, f1, auc, clock.Elapsed.TotalSeconds);
                    results.Add(result);
                    report(result);
                }
            }
        return results;
    }

    /// <summary>The methods' names, as the tables print them.</summary>
    public const string PretrainedMethod = "pretrained + fine-tuned", ScratchMethod = "from scratch", ClassicMethod = "ML.NET FeaturizeText + SDCA",
        SelfTrainingMethod = "pretrained + self-training", EnsembleSelfTrainingMethod = "pretrained + self-training, SDCA co-teacher",
        FeaturesMethod = "SDCA on n-grams + pretrained embedding", FusionMethod = "fine-tuned, averaged with n-grams + embedding SDCA";

    private static IEnumerable<string> MethodNames(LabelEfficiencyOptions options) =>
        options.Methods ?? (options.SelfTrainingRounds > 0
            ? [PretrainedMethod, SelfTrainingMethod, FeaturesMethod, ScratchMethod, ClassicMethod]
            : [PretrainedMethod, FeaturesMethod, ScratchMethod, ClassicMethod]);

    /// <summary>What the transformers read of each text (<see cref="LabelEfficiencyOptions.HeadTailWords"/>).</summary>
    private static IReadOnlyList<Email> Read(IReadOnlyList<Email> rows, LabelEfficiencyOptions options) =>
        options.HeadTailWords <= 0 ? rows : rows.Select(e => HeadAndTail(e, options.HeadTailWords)).ToList();

    /// <summary>The first and last <paramref name="words"/> words of the text, joined by a space; the row itself when it has no more than twice as many.</summary>
    public static Email HeadAndTail(Email email, int words)
    {
        var all = email.Text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
        if (all.Length <= 2 * words) return email;
        return new Email { Id = email.Id, Label = email.Label, PartialLabel = email.PartialLabel, Text = string.Join(' ', all[..words].Concat(all[^words..])) };
    }

    /// <summary>The training mails outside <paramref name="labelled"/>, labels withheld in use (self-training reads only their text).</summary>
    private static List<Email> Unlabelled(IReadOnlyList<Email> train, IReadOnlyList<Email> labelled)
    {
        var ids = labelled.Select(e => e.Id).ToHashSet();
        return train.Where(e => !ids.Contains(e.Id)).ToList();
    }

    /// <summary>A seeded random subset of <paramref name="fraction"/> of the rows holding both classes.</summary>
    public static List<Email> Sample(IReadOnlyList<Email> train, double fraction, int seed)
    {
        var count = Math.Max(8, (int)Math.Round(train.Count * fraction));
        var random = new Random(seed);
        while (true)
        {
            var sample = train.OrderBy(_ => random.Next()).Take(count).ToList();
            if (sample.Any(e => e.Label) && sample.Any(e => !e.Label)) return sample;
        }
    }

    /// <summary>The tuned fine-tuning recipe, from the pretrained encoder or from scratch; F1 and AUC on <paramref name="test"/>.</summary>
    public static (double F1, double Auc) FineTune(MLContext ml, Pretrained pretrained, IDataView train, IDataView test, int rows, int seed,
        LabelEfficiencyOptions options, bool fromPretrained, Action<TextClassifierOptions>? adjust = null)
    {
        var model = Fit(ml, pretrained, train, rows, seed, options, fromPretrained, adjust);
        var metrics = ml.BinaryClassification.Evaluate(model.Transform(test));
        model.LastTransformer.Dispose();
        return (metrics.F1Score, metrics.AreaUnderRocCurve);
    }

    /// <summary>
    /// Self-training composed from the pipeline (as Noisy Student does it): the classifier fine-tuned on the
    /// labelled mails labels the unlabelled ones it is at least <see cref="LabelEfficiencyOptions.PseudoLabelThreshold"/>
    /// sure of, and a new classifier, again from the pretrained encoder, is fine-tuned on both; each further round
    /// lets the newest classifier label anew. With <paramref name="ensemble"/>, the first round's teacher is the
    /// mean of its probability and FeaturizeText + SDCA's, trained on the same labels: two views of a mail (its
    /// start as the transformer reads it, every word's n-grams) whose errors differ. F1 and AUC on
    /// <paramref name="test"/> of the last classifier.
    /// </summary>
    public static (double F1, double Auc) SelfTrain(MLContext ml, Pretrained pretrained, IReadOnlyList<Email> labelled, IReadOnlyList<Email> unlabelled,
        IDataView test, int seed, LabelEfficiencyOptions options, bool ensemble)
    {
        var (labelledRead, unlabelledRead) = (Read(labelled, options), Read(unlabelled, options));
        var model = Fit(ml, pretrained, ml.Data.LoadFromEnumerable(labelledRead), labelled.Count, seed, options, fromPretrained: true);
        var pool = ml.Data.LoadFromEnumerable(unlabelledRead);
        var classic = ensemble
            ? ClassicModel(ml, ml.Data.LoadFromEnumerable(labelled)).Transform(ml.Data.LoadFromEnumerable(unlabelled)).GetColumn<float>("Probability").ToArray()
            : null;
        for (var round = 1; round <= Math.Max(1, options.SelfTrainingRounds); round++)
        {
            var probabilities = model.Transform(pool).GetColumn<float>("Probability").ToArray();
            model.LastTransformer.Dispose();
            if (round == 1 && classic is not null) probabilities = probabilities.Zip(classic, (a, b) => (a + b) / 2).ToArray();
            var confident = unlabelledRead.Zip(probabilities).Where(p => Math.Max(p.Second, 1 - p.Second) >= options.PseudoLabelThreshold).ToList();
            var pseudo = confident.Select(p => new Email { Id = p.First.Id, Text = p.First.Text, Label = p.Second >= 0.5f, PartialLabel = p.Second >= 0.5f ? 1 : 0 }).ToList();
            // The true labels are known here (withheld from training): how right the pseudo-labels are explains the result.
            var wrong = confident.Count(p => p.Second >= 0.5f != p.First.Label);
            Console.WriteLine($"    self-training round {round}: {pseudo.Count:N0} of {unlabelled.Count:N0} unlabelled mails pseudo-labelled at >= {options.PseudoLabelThreshold:P0}, " +
                              $"{wrong} of them wrongly ({(double)wrong / Math.Max(1, pseudo.Count):P1}), {pseudo.Count(e => e.Label):N0} as spam");
            var rows = labelledRead.Concat(pseudo).ToList();
            model = Fit(ml, pretrained, ml.Data.LoadFromEnumerable(rows), rows.Count, seed + round, options, fromPretrained: true);
        }
        var metrics = ml.BinaryClassification.Evaluate(model.Transform(test));
        model.LastTransformer.Dispose();
        return (metrics.F1Score, metrics.AreaUnderRocCurve);
    }

    private static TransformerChain<TextClassificationTransformer> Fit(MLContext ml, Pretrained pretrained, IDataView train, int rows, int seed,
        LabelEfficiencyOptions options, bool fromPretrained, Action<TextClassifierOptions>? adjust = null)
    {
        var epochs = Math.Clamp(options.FineTuneStepsTarget * 16 / rows, 3, 30);
        var classifier = new TextClassifierOptions
        {
            Base = fromPretrained ? EncoderSource.FromTransformer(pretrained.Model) : EncoderSource.None,
            Tokenizer = pretrained.Tokenizer, Layers = options.Layers, Hidden = options.Hidden, Heads = Math.Max(2, options.Hidden / 64),
            MaxLength = options.MaxLength, MaxEpoch = epochs, BatchSize = 16, LearningRate = options.FineTuneLearningRate, Device = options.Device, Seed = seed,
            ValidationFraction = rows >= 100 ? options.FineTuneValidationFraction : 0, LogEvery = 1000,
            // Mean pooling reads the pretrained token states directly; BERT's first-token pooler is
            // not trained by masked-LM pretraining. Scratch models get the same head, to compare fairly.
            Pooling = Pooling.Mean,
        };
        adjust?.Invoke(classifier);     // a method compared with this recipe changes only what it is about
        return ml.Transforms.Text.TokenizeSubwords("Tokens", nameof(Email.Text), pretrained.Tokenizer, options.MaxLength)
            .Append(ml.BinaryClassification.Trainers.TransformerClassifier(classifier))
            .Fit(train);
    }

    /// <summary>ML.NET's classic text baseline: FeaturizeText + SDCA logistic regression.</summary>
    public static (double F1, double Auc) Classic(MLContext ml, IDataView train, IDataView test, int seed)
    {
        var metrics = ml.BinaryClassification.Evaluate(ClassicModel(ml, train).Transform(test));
        return (metrics.F1Score, metrics.AreaUnderRocCurve);
    }

    private static ITransformer ClassicModel(MLContext ml, IDataView train) =>
        ml.Transforms.Text.FeaturizeText("Features", nameof(Email.Text))
            .Append(ml.BinaryClassification.Trainers.SdcaLogisticRegression(labelColumnName: nameof(Email.Label)))
            .Fit(train);

    /// <summary>Mean and standard deviation per method and fraction, as a printable table.</summary>
    public static string Table(IEnumerable<LabelEfficiencyResult> results)
    {
        var width = Math.Max(28, results.Select(r => r.Method.Length).DefaultIfEmpty().Max());
        var lines = new List<string>
        {
            $"| {"labels",-14} | {"method".PadRight(width)} | {"F1 (mean ± sd)",-16} | {"AUC (mean ± sd)",-16} | {"runs",4} |",
            $"|{new string('-', 16)}|{new string('-', width + 2)}|{new string('-', 18)}|{new string('-', 18)}|{new string('-', 6)}|",
        };
        foreach (var group in results.GroupBy(r => (r.Fraction, r.Method)))
        {
            var f1 = group.Select(r => r.F1).ToArray();
            var auc = group.Select(r => r.Auc).ToArray();
            var labels = $"{Percent(group.Key.Fraction)} ({group.First().Labels})";
            lines.Add($"| {labels,-14} | {group.Key.Method.PadRight(width)} | {MeanSd(f1),-16} | {MeanSd(auc),-16} | {f1.Length,4} |");
        }
        return string.Join(Environment.NewLine, lines);
    }

    /// <summary>A fraction of the labels as the tables print it: "10 %", and "0.1 %" below 1 %.</summary>
    public static string Percent(double fraction) => fraction.ToString(fraction < 0.01 ? "P1" : "P0");

    /// <summary>"mean ± sample standard deviation" to 3 decimals (sd 0 for one value), as the results tables print them.</summary>
    public static string MeanSd(IReadOnlyCollection<double> values)
    {
        var mean = values.Average();
        var sd = values.Count > 1 ? Math.Sqrt(values.Sum(v => (v - mean) * (v - mean)) / (values.Count - 1)) : 0;
        return $"{mean:F3} ± {sd:F3}";
    }
}
