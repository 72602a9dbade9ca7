using Microsoft.ML;

namespace Pipelines.Estimators.Tests.Reliability;

/// <summary>Tiny fitted pipelines and their zips, made once per test run, for the reliability tests.</summary>
internal static class TinyModels
{
    public static readonly List<SyntheticMail.Mail> Mails = SyntheticMail.Make(200, seed: 11);
    public static readonly TextTokenizer Tokenizer = SyntheticMail.Tokenizer(Mails);

    private static readonly Lazy<byte[]> MaskedLmZipBytes = new(() => Save(MaskedLmPipeline()));
    private static readonly Lazy<byte[]> ClassifierZipBytes = new(() => Save(ClassifierPipeline()));
    private static readonly Lazy<byte[]> CausalLmZipBytes = new(() => Save(CausalLmPipeline()));

    /// <summary>Tokenizer and a 1-layer masked LM trained for a few steps, saved as a model zip.</summary>
    public static byte[] MaskedLmZip => MaskedLmZipBytes.Value;

    /// <summary>Tokenizer and a 1-layer binary text classifier, saved as a model zip.</summary>
    public static byte[] ClassifierZip => ClassifierZipBytes.Value;

    /// <summary>Word-piece tokenizer and a 1-layer causal LM trained for a few steps on the mails, saved as a model zip.</summary>
    public static byte[] CausalLmZip => CausalLmZipBytes.Value;

    public static IDataView Data(MLContext ml, IEnumerable<SyntheticMail.Mail>? mails = null) => ml.Data.LoadFromEnumerable(mails ?? Mails);

    public static ITransformer Load(MLContext ml, byte[] zip)
    {
        using var stream = new MemoryStream(zip, writable: false);
        return ml.Model.Load(stream, out _);
    }

    private static IEstimator<ITransformer> Tokenize(MLContext ml) => ml.Transforms.Text.TokenizeSubwords("Tokens", "Text", Tokenizer, maxLength: 24);

    // Tokenize, then the given model, fitted on the mails.
    private static (ITransformer, IDataView) Fit(Func<MLContext, IEstimator<ITransformer>> model)
    {
        var ml = new MLContext(seed: 1);
        var data = Data(ml);
        return (Tokenize(ml).Append(model(ml)).Fit(data), data);
    }

    private static (ITransformer, IDataView) MaskedLmPipeline() => Fit(ml => ml.Pretraining.MaskedLanguageModel(new MaskedLanguageModelOptions
    {
        Tokenizer = Tokenizer, Layers = 1, Hidden = 16, Heads = 2, MaxLength = 24, MaxSteps = 4, BatchSize = 8, Device = "cpu", Seed = 1,
    }));

    private static (ITransformer, IDataView) CausalLmPipeline() => Fit(ml => ml.Pretraining.CausalLanguageModel(new CausalLanguageModelOptions
    {
        Tokenizer = Tokenizer, Layers = 1, Hidden = 16, Heads = 2, BlockSize = 24, MaxSteps = 4, BatchSize = 8, Device = "cpu", Seed = 1,
    }));

    private static (ITransformer, IDataView) ClassifierPipeline() => Fit(ml => ml.BinaryClassification.Trainers.TransformerClassifier(new TextClassifierOptions
    {
        Tokenizer = Tokenizer, Layers = 1, Hidden = 16, Heads = 2, MaxLength = 24, MaxEpoch = 2, BatchSize = 16,
        LearningRate = 2e-3, Device = "cpu", Seed = 1, Dropout = 0,
    }));

    private static byte[] Save((ITransformer Model, IDataView Data) fitted)
    {
        using var stream = new MemoryStream();
        new MLContext().Model.Save(fitted.Model, fitted.Data.Schema, stream);
        return stream.ToArray();
    }
}
