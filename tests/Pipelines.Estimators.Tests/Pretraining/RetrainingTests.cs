using Microsoft.ML;
using Pipelines.Estimators.Tests.Reliability;
using TorchSharp;
using static TorchSharp.torch;

namespace Pipelines.Estimators.Tests.Pretraining;

/// <summary>
/// Retraining a saved model on new data, as deployed models are: continued pretraining and
/// fine-tuning start from the zip's weights (shown by a learning rate too small to move them: the
/// result equals the source, where a start from scratch does not).
/// </summary>
[TestClass]
public sealed class RetrainingTests
{
    private static string Write(byte[] zip)
    {
        var path = Path.Combine(Path.GetTempPath(), $"{Guid.NewGuid():N}.zip");
        File.WriteAllBytes(path, zip);
        return path;
    }

    // Largest difference between the parameters two modules share by name (prefix stripped from the second's names).
    private static double Distance(nn.Module a, nn.Module b, string prefix = "")
    {
        var other = b.named_parameters().ToDictionary(p => prefix + p.name, p => p.parameter);
        var shared = a.named_parameters().Where(p => other.ContainsKey(p.name)).ToList();
        Assert.IsGreaterThan(4, shared.Count, "the modules share their encoder's parameters");
        using var _ = no_grad();
        return shared.Max(p => (p.parameter - other[p.name]).abs().max().item<float>());
    }

    private static IDataView Mails(MLContext ml) => TinyModels.Data(ml, TinyModels.Mails.Take(40));

    [TestMethod]
    public void ContinuedMaskedLmPretrainingFromAZipStartsFromItsWeights()
    {
        var path = Write(TinyModels.MaskedLmZip);
        try
        {
            var source = MaskedLanguageModelTransformer.FromZip(path);
            MaskedLanguageModelTransformer Continue(MaskedLanguageModelTransformer? start) => new MLContext(seed: 1).Transforms.Text
                .TokenizeSubwords("Tokens", "Text", TinyModels.Tokenizer, maxLength: 24)
                .Append(new MLContext(seed: 1).Pretraining.MaskedLanguageModel(new MaskedLanguageModelOptions
                {
                    Base = start, Tokenizer = TinyModels.Tokenizer, Layers = 1, Hidden = 16, Heads = 2, MaxLength = 24,
                    MaxSteps = 1, LearningRate = 1e-12, BatchSize = 4, Device = "cpu", Seed = 2,
                }))
                .Fit(Mails(new MLContext())).LastTransformer;
            Assert.IsLessThan(1e-6, Distance(Continue(source).Model, source.Model), "continued from the zip");
            Assert.IsGreaterThan(1e-2, Distance(Continue(null).Model, source.Model), "from scratch, for contrast");
        }
        finally { File.Delete(path); }
    }

    [TestMethod]
    public void ContinuedCausalLmPretrainingFromAZipStartsFromItsWeights()
    {
        var path = Write(TinyModels.CausalLmZip);
        try
        {
            var source = CausalLanguageModelTransformer.FromZip(path);
            var ml = new MLContext(seed: 1);
            var continued = ml.Transforms.Text.TokenizeSubwords("Tokens", "Text", TinyModels.Tokenizer, maxLength: 24)
                .Append(ml.Pretraining.CausalLanguageModel(new CausalLanguageModelOptions
                {
                    Base = source, BlockSize = 24, MaxSteps = 1, LearningRate = 1e-12, BatchSize = 4, Device = "cpu", Seed = 2,
                }))
                .Fit(Mails(ml)).LastTransformer;
            Assert.IsLessThan(1e-6, Distance(continued.Model, source.Model));
        }
        finally { File.Delete(path); }
    }

    [TestMethod]
    public void FineTuningFromAZipStartsFromItsEncoder()
    {
        var path = Write(TinyModels.MaskedLmZip);
        try
        {
            var source = MaskedLanguageModelTransformer.FromZip(path);
            var ml = new MLContext(seed: 1);
            var classifier = ml.Transforms.Text.TokenizeSubwords("Tokens", "Text", TinyModels.Tokenizer, maxLength: 24)
                .Append(ml.BinaryClassification.Trainers.TransformerClassifier(new TextClassifierOptions
                {
                    Base = EncoderSource.FromZip(path), MaxEpoch = 1, LearningRate = 1e-12, BatchSize = 16, Device = "cpu", Seed = 2,
                }))
                .Fit(Mails(ml)).LastTransformer;
            Assert.IsLessThan(1e-6, Distance(classifier.Model, source.Model));
        }
        finally { File.Delete(path); }
    }

    [TestMethod]
    public void ContinuedPretrainingFromAHuggingFaceDirectoryStartsFromItsWeights()
    {
        var directory = Path.Combine(AppContext.BaseDirectory, "fixtures", "huggingface", "roberta");
        var source = MaskedLanguageModelTransformer.FromHuggingFace(directory);
        var tokenizer = EncoderSource.HuggingFaceTokenizer(directory);
        Assert.AreEqual(tokenizer.Fingerprint, source.Tokenizer.Fingerprint, "the directory's own tokenizer");
        var ml = new MLContext(seed: 1);
        var continued = ml.Transforms.Text.TokenizeSubwords("Tokens", "Text", tokenizer, maxLength: 24)
            .Append(ml.Pretraining.MaskedLanguageModel(new MaskedLanguageModelOptions
            {
                Base = source, MaxLength = 24, MaxSteps = 1, LearningRate = 1e-12, BatchSize = 4, Device = "cpu", Seed = 2,
            }))
            .Fit(Mails(ml)).LastTransformer;
        Assert.IsLessThan(1e-6, Distance(continued.Model, source.Model));
    }

    [TestMethod]
    public void AZipWithoutTheModelOrNoFileIsRefusedByName()
    {
        var path = Write(TinyModels.ClassifierZip);
        try
        {
            StringAssert.Contains(Assert.Throws<InvalidDataException>(() => MaskedLanguageModelTransformer.FromZip(path)).Message, "holds no masked language model");
            StringAssert.Contains(Assert.Throws<InvalidDataException>(() => CausalLanguageModelTransformer.FromZip(path)).Message, "holds no causal language model");
        }
        finally { File.Delete(path); }
        Assert.Throws<FileNotFoundException>(() => CausalLanguageModelTransformer.FromZip(path));
    }
}
