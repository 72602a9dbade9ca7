using Microsoft.ML;
using Microsoft.ML.Data;

namespace Pipelines.Estimators.Tests.Reliability;

/// <summary>
/// Mistakes a hurried user makes (issue "no silent failures"): each is refused by name before any
/// training, or warned in MLContext.Log where refusing would be wrong. One test per kind of mistake.
/// </summary>
[TestClass]
public sealed class NewcomerMistakeTests
{
    private static MaskedLanguageModelOptions Pretraining() => new()
    {
        Tokenizer = TinyModels.Tokenizer, Layers = 1, Hidden = 16, Heads = 2, MaxLength = 24, MaxSteps = 2, BatchSize = 4, Device = "cpu", Seed = 1,
    };

    private static TextClassifierOptions Classifier() => new()
    {
        Tokenizer = TinyModels.Tokenizer, Layers = 1, Hidden = 16, Heads = 2, MaxLength = 24, MaxEpoch = 1, BatchSize = 16, Device = "cpu", Seed = 1,
    };

    private static ITransformer FitPretraining(MLContext ml, MaskedLanguageModelOptions options) =>
        ml.Transforms.Text.TokenizeSubwords("Tokens", "Text", TinyModels.Tokenizer, maxLength: 24)
            .Append(ml.Pretraining.MaskedLanguageModel(options)).Fit(TinyModels.Data(ml, TinyModels.Mails.Take(40)));

    private static ITransformer FitClassifier(MLContext ml, TextClassifierOptions options, IDataView? data = null) =>
        ml.Transforms.Text.TokenizeSubwords("Tokens", "Text", TinyModels.Tokenizer, maxLength: 24)
            .Append(ml.BinaryClassification.Trainers.TransformerClassifier(options)).Fit(data ?? TinyModels.Data(ml, TinyModels.Mails.Take(40)));

    public static IEnumerable<object[]> BadPretrainingOptions =>
    [
        ["BatchSize", (Action<MaskedLanguageModelOptions>)(o => o.BatchSize = 0)],
        ["MaxSteps", (Action<MaskedLanguageModelOptions>)(o => o.MaxSteps = -5)],
        ["LearningRate", (Action<MaskedLanguageModelOptions>)(o => o.LearningRate = double.NaN)],
        ["FinalLearningRateRatio", (Action<MaskedLanguageModelOptions>)(o => o.FinalLearningRateRatio = 1.5)],
        ["GradientClipNorm", (Action<MaskedLanguageModelOptions>)(o => o.GradientClipNorm = -1)],
        ["CheckpointEvery", (Action<MaskedLanguageModelOptions>)(o => o.CheckpointEvery = -10)],
        ["EvaluateEvery", (Action<MaskedLanguageModelOptions>)(o => o.EvaluateEvery = -1)],
        ["Patience", (Action<MaskedLanguageModelOptions>)(o => o.Patience = -2)],
        ["WeightDecay", (Action<MaskedLanguageModelOptions>)(o => o.WeightDecay = -0.01)],
        ["Beta2", (Action<MaskedLanguageModelOptions>)(o => o.Beta2 = 1)],
        ["LogEvery", (Action<MaskedLanguageModelOptions>)(o => o.LogEvery = 0)],
        ["TimeBudget", (Action<MaskedLanguageModelOptions>)(o => o.TimeBudget = TimeSpan.Zero)],
        ["FeedForward", (Action<MaskedLanguageModelOptions>)(o => o.FeedForward = -64)],
        ["Layers", (Action<MaskedLanguageModelOptions>)(o => o.Layers = 0)],
        ["Dropout", (Action<MaskedLanguageModelOptions>)(o => o.Dropout = 1)],
    ];

    [TestMethod]
    [DynamicData(nameof(BadPretrainingOptions))]
    public void AnOptionOutOfRangeIsRefusedWithItsNameAsTheParameterAndItsRuleInTheMessage(string option, Action<MaskedLanguageModelOptions> spoil)
    {
        var ml = new MLContext(seed: 1);
        var options = Pretraining();
        spoil(options);
        var steps = 0;
        options.Progress = new Steps(() => steps++);
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => FitPretraining(ml, options));
        Assert.AreEqual(option, error.ParamName);
        StringAssert.StartsWith(error.Message, $"{option} must", StringComparison.Ordinal);
        Assert.AreEqual(0, steps, "refused before training");
    }

    public static IEnumerable<object[]> BadFineTuningOptions =>
    [
        ["LoraRank", (Action<TextClassifierOptions>)(o => o.LoraRank = 0)],
        ["FrozenLayers", (Action<TextClassifierOptions>)(o => o.FrozenLayers = -1)],
        ["LayerDecay", (Action<TextClassifierOptions>)(o => o.LayerDecay = 0)],
        ["MaxEpoch", (Action<TextClassifierOptions>)(o => o.MaxEpoch = -1)],
        ["Hidden", (Action<TextClassifierOptions>)(o => o.Hidden = 0)],
        ["MaxLength", (Action<TextClassifierOptions>)(o => o.MaxLength = 2)],
    ];

    [TestMethod]
    [DynamicData(nameof(BadFineTuningOptions))]
    public void AFineTuningOptionOutOfRangeIsRefusedTheSameWay(string option, Action<TextClassifierOptions> spoil)
    {
        var options = Classifier();
        spoil(options);
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => FitClassifier(new MLContext(seed: 1), options));
        Assert.AreEqual(option, error.ParamName);
        StringAssert.StartsWith(error.Message, $"{option} must", StringComparison.Ordinal);
    }

    [TestMethod]
    public void FreezingMoreLayersThanTheModelHasIsRefused()
    {
        var options = Classifier();
        (options.Strategy, options.FrozenLayers) = (FineTuneStrategy.FreezeBottomLayers, 3);
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => FitClassifier(new MLContext(seed: 1), options));
        Assert.AreEqual("FrozenLayers", error.ParamName);
        StringAssert.Contains(error.Message, "1 blocks");
    }

    [TestMethod]
    public void AWarmupLongerThanTheRunIsWarned()
    {
        var ml = new MLContext(seed: 1);
        var warnings = new List<string>();
        ml.Log += (_, e) => { lock (warnings) warnings.Add(e.Message); };
        var options = Pretraining();
        options.WarmupSteps = 100;
        FitPretraining(ml, options);
        Assert.IsTrue(warnings.Any(w => w.Contains("WarmupSteps (100) is longer than the run (2 steps)")), string.Join(" | ", warnings.Where(w => w.Contains("Warmup"))));

        warnings.Clear();
        options.WarmupSteps = 1;
        FitPretraining(ml, options);
        Assert.IsFalse(warnings.Any(w => w.Contains("WarmupSteps")), "no warning when the warmup fits");
    }

    [TestMethod]
    public void ATokenCancelledBeforeTheFirstStepThrowsInsteadOfReturningAnUntrainedModel()
    {
        using var cancel = new CancellationTokenSource();
        cancel.Cancel();
        var options = Pretraining();
        options.Cancellation = cancel.Token;
        var error = Assert.Throws<OperationCanceledException>(() => FitPretraining(new MLContext(seed: 1), options));
        StringAssert.Contains(error.Message, "before its first step");
        var classifier = Classifier();
        classifier.Cancellation = cancel.Token;
        Assert.Throws<OperationCanceledException>(() => FitClassifier(new MLContext(seed: 1), classifier));
    }

    [TestMethod]
    public void ACheckpointDirectoryThatCannotHoldCheckpointsIsRefusedBeforeTheFirstStep()
    {
        var file = Path.GetTempFileName();
        try
        {
            foreach (var (directory, says) in new[] { (file, "is a file"), (Path.Combine(file, "run"), "cannot hold checkpoints") })
            {
                var options = Pretraining();
                options.CheckpointDirectory = directory;
                var steps = 0;
                options.Progress = new Steps(() => steps++);
                var error = Assert.Throws<IOException>(() => FitPretraining(new MLContext(seed: 1), options));
                StringAssert.Contains(error.Message, says);
                StringAssert.Contains(error.Message, directory);
                Assert.AreEqual(0, steps, "refused before training");
            }
        }
        finally
        {
            File.Delete(file);
        }
    }

    private sealed class Scored
    {
        public string Text { get; set; } = "";
        public float Label { get; set; }
    }

    [TestMethod]
    public void BinaryLabelsOneAndTwoSayThatEveryPositiveValueIsTrue()
    {
        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadFromEnumerable(TinyModels.Mails.Take(40).Select(m => new Scored { Text = m.Text, Label = m.Label ? 2 : 1 }));
        var error = Assert.Throws<InvalidOperationException>(() => FitClassifier(ml, Classifier(), data));
        StringAssert.Contains(error.Message, "true above 0");
    }

    [TestMethod]
    public void FillMaskPastTheModelsPositionsIsRefusedInsteadOfAnsweringFewerMasks()
    {
        var ml = new MLContext(seed: 1);
        var model = (MaskedLanguageModelTransformer)((TransformerChain<ITransformer>)TinyModels.Load(ml, TinyModels.MaskedLmZip)).LastTransformer;
        var positions = model.Config.MaxSequenceLength;
        Assert.HasCount(1, model.FillMask("free [MASK] now"));
        var longText = string.Join(' ', Enumerable.Repeat("money", positions)) + " [MASK]";
        var error = Assert.Throws<ArgumentException>(() => model.FillMask(longText));
        StringAssert.Contains(error.Message, $"past the model's {positions} positions");
        Assert.AreEqual("topK", Assert.Throws<ArgumentOutOfRangeException>(() => model.FillMask("free [MASK]", topK: 0)).ParamName);
    }

    // The tiny models' vocabulary with two pieces swapped: the same size, other ids.
    private static TextTokenizer SameSizeOtherTokenizer()
    {
        var vocabulary = WordPieceTrainer.Train(TinyModels.Mails.Select(m => m.Text), new WordPieceTrainerOptions { VocabularySize = 200, MinFrequency = 1 }).ToArray();
        (vocabulary[^1], vocabulary[^2]) = (vocabulary[^2], vocabulary[^1]);
        return TextTokenizer.FromWordPieceVocab(vocabulary);
    }

    [TestMethod]
    public void ContinuedPretrainingWithATokenizerOptionOtherThanTheBasesIsRefused()
    {
        var ml = new MLContext(seed: 1);
        var other = SameSizeOtherTokenizer();
        Assert.AreEqual(TinyModels.Tokenizer.VocabSize, other.VocabSize);
        var pretrained = (MaskedLanguageModelTransformer)((TransformerChain<ITransformer>)TinyModels.Load(ml, TinyModels.MaskedLmZip)).LastTransformer;
        var options = Pretraining();
        (options.Base, options.Tokenizer) = (pretrained, other);
        var error = Assert.Throws<ArgumentException>(() => ml.Transforms.Text.TokenizeSubwords("Tokens", "Text", other, maxLength: 24)
            .Append(ml.Pretraining.MaskedLanguageModel(options)).Fit(TinyModels.Data(ml, TinyModels.Mails.Take(40))));
        StringAssert.Contains(error.Message, "MaskedLanguageModelOptions.Tokenizer is not the tokenizer the base model");
    }

    [TestMethod]
    public void ResumingACheckpointOfAnotherTokenizerOfTheSameSizeIsRefused()
    {
        var directory = Path.Combine(Path.GetTempPath(), $"resume-{Guid.NewGuid():N}");
        try
        {
            var ml = new MLContext(seed: 1);
            var options = Pretraining();
            options.CheckpointDirectory = directory;
            FitPretraining(ml, options);
            var other = SameSizeOtherTokenizer();
            options = Pretraining();
            (options.Tokenizer, options.CheckpointDirectory, options.Resume, options.MaxSteps) = (other, directory, true, 4);
            var error = Assert.Throws<InvalidDataException>(() => ml.Transforms.Text.TokenizeSubwords("Tokens", "Text", other, maxLength: 24)
                .Append(ml.Pretraining.MaskedLanguageModel(options)).Fit(TinyModels.Data(ml, TinyModels.Mails.Take(40))));
            StringAssert.Contains(error.Message, "different model (architecture or tokenizer)");
        }
        finally
        {
            if (Directory.Exists(directory)) Directory.Delete(directory, recursive: true);
        }
    }

    [TestMethod]
    public void AValidationFractionThatHoldsOutNoRowIsWarned()
    {
        var ml = new MLContext(seed: 1);
        var warnings = new List<string>();
        ml.Log += (_, e) => { lock (warnings) warnings.Add(e.Message); };
        ml.Transforms.Text.TokenizeSubwords("Tokens", "Text", TinyModels.Tokenizer, maxLength: 24)
            .Append(ml.Pretraining.MaskedLanguageModel(Pretraining())).Fit(TinyModels.Data(ml, TinyModels.Mails.Take(6)));
        Assert.IsTrue(warnings.Any(w => w.Contains("ValidationFraction 0.1 of 6 rows holds out none")), string.Join(" | ", warnings.Where(w => w.Contains("Validation"))));
    }

    [TestMethod]
    public void WholeWordMaskingReadsTheWordIdsAndIsRefusedWithoutThem()
    {
        var ml = new MLContext(seed: 1);
        var options = Pretraining();
        options.Masking = MaskingStrategy.WholeWord;
        var tokenize = ml.Transforms.Text.TokenizeSubwords("Tokens", "Text", TinyModels.Tokenizer, maxLength: 24);
        // It trains: the masker refuses whole-word masking without word ids, so this proves they arrive.
        var model = tokenize.Append(ml.Pretraining.MaskedLanguageModel(options)).Fit(TinyModels.Data(ml, TinyModels.Mails.Take(40))).LastTransformer;
        Assert.AreEqual(2, model.Training!.Steps);
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => tokenize.Append(ml.Transforms.DropColumns("Tokens.WordIds"))
            .Append(ml.Pretraining.MaskedLanguageModel(options)).Fit(TinyModels.Data(ml, TinyModels.Mails.Take(40))));
        StringAssert.Contains(error.Message, "'Tokens.WordIds'");
        options.SentencePairs = SentencePairObjective.SentenceOrder;
        Assert.Throws<ArgumentException>(() => FitPretraining(ml, options));
    }

    // Counts steps on the training thread (Progress<T> would post them to the thread pool, late).
    private sealed class Steps(Action onStep) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value) => onStep();
    }
}
