using Microsoft.ML;
using Microsoft.ML.Data;
using Pipelines.Models.Training;

namespace Pipelines.Examples.Common;

/// <summary>The settings of the CoNLL-2003 NER experiment.</summary>
public sealed record NerOptions
{
    /// <summary>Cased WordPiece vocabulary size trained on the training sentences.</summary>
    public int VocabularySize { get; init; } = 8000;
    /// <summary>Tokens per sentence (and per pretraining chunk).</summary>
    public int MaxLength { get; init; } = 128;
    /// <summary>Encoder blocks.</summary>
    public int Layers { get; init; } = 4;
    /// <summary>Encoder width.</summary>
    public int Hidden { get; init; } = 128;
    /// <summary>Masked-LM pretraining steps (batch 32).</summary>
    public int PretrainSteps { get; init; } = 1500;
    /// <summary>Words per pretraining chunk (consecutive sentences of a document).</summary>
    public int ChunkWords { get; init; } = 100;
    /// <summary>Fine-tuning peak learning rate.</summary>
    public double LearningRate { get; init; } = 5e-4;
    /// <summary>Fine-tuning batch size.</summary>
    public int BatchSize { get; init; } = 32;
    /// <summary>"auto", "cpu", "cuda".</summary>
    public string Device { get; init; } = "auto";
    /// <summary>Added to every seed of the experiment (pretraining, fine-tuning, the sampled sentences): 0 is the published run.</summary>
    public int SeedOffset { get; init; }
    /// <summary>Masked-LM or ELECTRA's replaced-token detection.</summary>
    public EncoderObjective Objective { get; init; } = EncoderObjective.MaskedLanguageModel;
}

/// <summary>
/// NER on CoNLL-2003 with this library: a cased WordPiece vocabulary and a masked-LM pretrained on
/// the training sentences' text (no tags), then a tagger fine-tuned from it, or from scratch.
/// </summary>
public static class NerExperiment
{
    /// <summary>The tokenizer, trained on the training sentences (cased: capitals matter for names).</summary>
    public static TextTokenizer Tokenizer(IEnumerable<TaggedSentence> train, NerOptions options) =>
        WordPieceTrainer.TrainTokenizer(train.Select(s => s.Sentence),
            new WordPieceTrainerOptions { VocabularySize = options.VocabularySize, MinFrequency = 2, LowerCase = false });

    /// <summary>The tokenization step of every pipeline of the experiment.</summary>
    public static IEstimator<ITransformer> Tokenize(MLContext ml, TextTokenizer tokenizer, NerOptions options) =>
        ml.Transforms.Text.TokenizeSubwords("Tokens", nameof(TaggedSentence.Sentence), tokenizer, options.MaxLength);

    /// <summary>
    /// Pretrains the masked-LM on the training text only: a document's consecutive sentences joined
    /// into chunks of up to <see cref="NerOptions.ChunkWords"/> words, as BERT pretrains on running text.
    /// </summary>
    public static MaskedLanguageModelTransformer Pretrain(MLContext ml, TextTokenizer tokenizer, IEnumerable<TaggedSentence> train,
        NerOptions options, IProgress<TrainingProgress>? progress = null)
    {
        var chunks = Conll2003.DocumentChunks(train, options.ChunkWords).Select(t => new TaggedSentence { Sentence = t }).ToList();
        var chain = Tokenize(ml, tokenizer, options)
            .Append(ml.Pretraining.MaskedLanguageModel(new MaskedLanguageModelOptions
            {
                Tokenizer = tokenizer, Layers = options.Layers, Hidden = options.Hidden, Heads = Math.Max(2, options.Hidden / 64),
                MaxLength = options.MaxLength, MaxSteps = options.PretrainSteps, BatchSize = 32, LearningRate = 1e-3,
                WarmupSteps = options.PretrainSteps / 20, EvaluateEvery = Math.Max(50, options.PretrainSteps / 6), LogEvery = 100,
                Device = options.Device, Seed = 7 + options.SeedOffset, Progress = progress, Objective = options.Objective,
            }))
            .Fit(ml.Data.LoadFromEnumerable(chunks));
        return chain.LastTransformer;
    }

    /// <summary>
    /// Fine-tunes a tagger on <paramref name="sentences"/>, from <paramref name="pretrained"/> or from
    /// scratch (null), choosing the epoch by loss on <paramref name="validation"/> (already tokenized);
    /// <paramref name="crf"/> adds a CRF layer.
    /// </summary>
    public static TransformerChain<TokenClassificationTransformer> Tagger(MLContext ml, TextTokenizer tokenizer, MaskedLanguageModelTransformer? pretrained,
        IReadOnlyList<TaggedSentence> sentences, IDataView validation, int epochs, NerOptions options, int seed = 11, bool crf = false) =>
        Tokenize(ml, tokenizer, options)
            .Append(ml.MulticlassClassification.Trainers.TransformerTokenClassifier(new TokenClassifierOptions
            {
                Base = pretrained is null ? EncoderSource.None : EncoderSource.FromTransformer(pretrained),
                Tokenizer = tokenizer, Layers = options.Layers, Hidden = options.Hidden, Heads = Math.Max(2, options.Hidden / 64),
                MaxLength = options.MaxLength, MaxEpoch = epochs, BatchSize = options.BatchSize, LearningRate = options.LearningRate,
                Patience = 3, ValidationSet = validation, LogEvery = 200, Device = options.Device, Seed = seed + options.SeedOffset, Crf = crf,
            }))
            .Fit(ml.Data.LoadFromEnumerable(sentences));

    /// <summary>A seeded random fraction of the sentences, in file order (all of them at 1).</summary>
    public static List<TaggedSentence> Sample(List<TaggedSentence> train, double fraction, int seedOffset = 0)
    {
        if (fraction >= 1) return train;
        var order = Enumerable.Range(0, train.Count).ToArray();
        new Random(1 + seedOffset).Shuffle(order);
        return order.Take((int)Math.Round(train.Count * fraction)).Order().Select(i => train[i]).ToList();
    }
}
