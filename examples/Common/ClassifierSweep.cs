using Microsoft.ML;
using Pipelines.Models;
using Pipelines.Models.Training;

namespace Pipelines.Examples.Common;

/// <summary>The searched parameters of the LoRA text classifier; the defaults are TextClassifierOptions' own (a sweep's trial 0).</summary>
public sealed class ClassifierSweepParameters
{
    /// <summary>Peak learning rate (log scale).</summary>
    [Range(1e-4, 3e-2, logBase: true)] public double LearningRate { get; set; } = new TextClassifierOptions { Strategy = FineTuneStrategy.LoRA }.LearningRate;
    /// <summary>LoRA rank.</summary>
    [Choice(2, 4, 8, 16)] public int LoraRank { get; set; } = new TextClassifierOptions().LoraRank;
    /// <summary>Epochs: the budget successive halving hands out (the default trial gets the whole budget).</summary>
    public int Epochs { get; set; } = 3;
}

/// <summary>
/// The sweep example's and the sweep benchmark's shared setup: a small masked-LM pretrained on a
/// slice's text, and the factory that builds a LoRA spam classifier on it from one configuration.
/// </summary>
public sealed class ClassifierSweep
{
    /// <summary>Token length of the slice's mails.</summary>
    public const int MaxLength = 96;

    private ClassifierSweep(TextTokenizer tokenizer, MaskedLanguageModelTransformer pretrained) => (Tokenizer, Pretrained) = (tokenizer, pretrained);

    /// <summary>WordPiece vocabulary of the slice.</summary>
    public TextTokenizer Tokenizer { get; }
    /// <summary>The 2 x 64 masked-LM every classifier starts from.</summary>
    public MaskedLanguageModelTransformer Pretrained { get; }

    /// <summary>Trains the vocabulary and pretrains the masked-LM (300 steps) on <paramref name="slice"/>'s text; labels unused.</summary>
    public static ClassifierSweep Prepare(MLContext ml, IReadOnlyList<Email> slice, IProgress<TrainingProgress>? progress = null)
    {
        var tokenizer = WordPieceTrainer.TrainTokenizer(slice.Select(e => e.Text), new WordPieceTrainerOptions { VocabularySize = 4000 });
        var chain = ml.Transforms.Text.TokenizeSubwords("Tokens", nameof(Email.Text), tokenizer, MaxLength)
            .Append(ml.Pretraining.MaskedLanguageModel(new MaskedLanguageModelOptions
            {
                Tokenizer = tokenizer, Layers = 2, Hidden = 64, Heads = 2, MaxLength = MaxLength, MaxSteps = 300, BatchSize = 32,
                LearningRate = 1e-3, WarmupSteps = 20, EvaluateEvery = 0, LogEvery = 100, Device = "auto", Seed = 3, Progress = progress,
            }))
            .Fit(ml.Data.LoadFromEnumerable(slice));
        return new ClassifierSweep(tokenizer, chain.LastTransformer);
    }

    /// <summary>The pipeline of one configuration: tokenize, then a LoRA classifier from the pretrained encoder.</summary>
    public IEstimator<ITransformer> Pipeline(MLContext context, ClassifierSweepParameters p) =>
        context.Transforms.Text.TokenizeSubwords("Tokens", nameof(Email.Text), Tokenizer, MaxLength)
            .Append(context.BinaryClassification.Trainers.TransformerClassifier(new TextClassifierOptions
            {
                Base = EncoderSource.FromTransformer(Pretrained), Strategy = FineTuneStrategy.LoRA, Pooling = Pooling.Mean, MaxLength = MaxLength,
                LearningRate = p.LearningRate, LoraRank = p.LoraRank, MaxEpoch = p.Epochs, ValidationFraction = 0, LogEvery = 1000, Device = "auto",
            }));

    /// <summary>A seeded random slice of <paramref name="rows"/> training mails.</summary>
    public static List<Email> Slice(IReadOnlyList<Email> train, int rows)
    {
        var shuffled = train.ToArray();
        new Random(1).Shuffle(shuffled);
        return shuffled.Take(rows).ToList();
    }
}
