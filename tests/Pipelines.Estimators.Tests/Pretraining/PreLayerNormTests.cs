using Pipelines.Tests;
using Microsoft.ML;
using Microsoft.ML.Data;
using TorchSharp;

namespace Pipelines.Estimators.Tests.Pretraining;

/// <summary>
/// MaskedLanguageModelOptions.PreLayerNorm: the encoder is built pre-LN (a final LayerNorm after the last block), the
/// zip keeps it, a classifier fine-tuned from it keeps it, and a Hugging Face BERT export is refused.
/// </summary>
[TestClass]
public sealed class PreLayerNormTests
{
    private static readonly List<SyntheticMail.Mail> Mails = SyntheticMail.Make(200, seed: 41);
    private static readonly TextTokenizer Tokenizer = SyntheticMail.Tokenizer(Mails);
    private const string FinalNorm = "bert.encoder.final_LayerNorm.weight";

    private static (MaskedLanguageModelTransformer Model, ITransformer Chain) Pretrain(MLContext ml, bool preLayerNorm)
    {
        var estimator = ml.Transforms.Text.TokenizeSubwords("Tokens", "Text", Tokenizer, maxLength: 24)
            .Append(ml.Pretraining.MaskedLanguageModel(new MaskedLanguageModelOptions
            {
                Tokenizer = Tokenizer, Layers = 2, Hidden = 16, Heads = 2, MaxLength = 24, BatchSize = 8, MaxSteps = 6, WarmupSteps = 1,
                EvaluateEvery = 0, Device = "cpu", Seed = 3, PreLayerNorm = preLayerNorm,
            }));
        var chain = estimator.Fit(ml.Data.LoadFromEnumerable(Mails));
        return (chain.LastTransformer, chain);
    }

    [TestMethod]
    public void ThePretrainedEncoderIsPreLayerNormAndItsZipKeepsIt()
    {
        var ml = new MLContext(seed: 1);
        var (pre, chain) = Pretrain(ml, preLayerNorm: true);
        var (post, _) = Pretrain(new MLContext(seed: 1), preLayerNorm: false);
        Assert.IsTrue(pre.Config.PreLayerNorm);
        Assert.IsFalse(post.Config.PreLayerNorm, "BERT's post-LN stays the default");
        Assert.IsTrue(pre.Model.state_dict().ContainsKey(FinalNorm), "pre-LN blocks end in a final LayerNorm");
        Assert.IsFalse(post.Model.state_dict().ContainsKey(FinalNorm));

        var probe = ml.Data.LoadFromEnumerable(Mails.Take(5));
        var embeddings = chain.Transform(probe).GetColumn<float[]>("Embedding").ToArray();
        using var zip = new MemoryStream();
        ml.Model.Save(chain, probe.Schema, zip);
        zip.Position = 0;
        var reloaded = new MLContext().Model.Load(zip, out _);
        var again = reloaded.Transform(probe).GetColumn<float[]>("Embedding").ToArray();
        for (var i = 0; i < embeddings.Length; i++) CollectionAssert.AreEqual(embeddings[i], again[i], $"row {i}'s embedding after the round trip");
        Assert.IsTrue(((IEnumerable<ITransformer>)reloaded).OfType<MaskedLanguageModelTransformer>().Single().Config.PreLayerNorm);
    }

    [TestMethod]
    public void AClassifierFineTunedFromItIsPreLayerNormAndHuggingFaceExportIsRefused()
    {
        var ml = new MLContext(seed: 1);
        var (pre, _) = Pretrain(ml, preLayerNorm: true);
        var labelled = ml.Data.LoadFromEnumerable(Mails.Take(60));
        var classifier = ml.Transforms.Text.TokenizeSubwords("Tokens", "Text", Tokenizer, maxLength: 24)
            .Append(ml.BinaryClassification.Trainers.TransformerClassifier(new TextClassifierOptions
            {
                Base = EncoderSource.FromTransformer(pre), LabelColumnName = "Label", MaxEpoch = 1, BatchSize = 8, Device = "cpu", Seed = 2,
                LearningRate = 1e-9,    // so that the weights stay where fine-tuning started them
            }))
            .Fit(labelled).LastTransformer;
        var pretrainedNorm = pre.Model.state_dict()[FinalNorm];
        Assert.IsFalse(pretrainedNorm.allclose(torch.ones_like(pretrainedNorm), rtol: 0, atol: 1e-4), "pretraining moved the final LayerNorm from its initial ones");
        Assert.IsTrue(classifier.Model.state_dict().ContainsKey(FinalNorm), "the classifier's encoder was built from the pretrained config");
        Assert.IsTrue(classifier.Model.state_dict()[FinalNorm].allclose(pretrainedNorm, rtol: 0, atol: 1e-6), "and started from the pretrained final LayerNorm");

        var directory = Path.Combine(Path.GetTempPath(), $"preln-export-{Guid.NewGuid():N}");
        var refusal = Assert.Throws<ArgumentException>(() => pre.SaveAsHuggingFace(directory));
        StringAssert.Contains(refusal.Message, "post-LayerNorm");
        Assert.IsFalse(Directory.Exists(directory) && Directory.EnumerateFileSystemEntries(directory).Any(), "a refused export leaves no files");
    }
}
