using Microsoft.ML;
using Microsoft.ML.Data;

namespace Pipelines.Estimators.Tests.Reliability;

/// <summary>A disposed model has freed its weights: every use is refused by name, none writes an empty zip or scores garbage.</summary>
[TestClass]
public sealed class DisposedModelTests
{
    [TestMethod]
    [DataRow("classifier")]
    [DataRow("masked-lm")]
    [DataRow("causal-lm")]
    public void ADisposedModelRefusesToSaveAndToTransform(string kind)
    {
        var ml = new MLContext();
        var chain = (TransformerChain<ITransformer>)TinyModels.Load(ml, kind switch
        {
            "classifier" => TinyModels.ClassifierZip,
            "masked-lm" => TinyModels.MaskedLmZip,
            _ => TinyModels.CausalLmZip,
        });
        var data = TinyModels.Data(ml, TinyModels.Mails.Take(4));
        var model = chain.OfType<IDisposable>().Single();
        model.Dispose();
        model.Dispose();   // twice is harmless

        using var zip = new MemoryStream();
        AssertDisposed(model, Assert.Throws<Exception>(() => ml.Model.Save(chain, data.Schema, zip)));
        AssertDisposed(model, Assert.Throws<Exception>(() => chain.Transform(data).Preview()));
    }

    [TestMethod]
    public void ADisposedPretrainedModelIsNoFineTuningBase()
    {
        var ml = new MLContext(seed: 1);
        var pretrained = (MaskedLanguageModelTransformer)((TransformerChain<ITransformer>)TinyModels.Load(ml, TinyModels.MaskedLmZip)).LastTransformer;
        pretrained.Dispose();
        var classifier = ml.Transforms.Text.TokenizeSubwords("Tokens", "Text", TinyModels.Tokenizer, maxLength: 24)
            .Append(ml.BinaryClassification.Trainers.TransformerClassifier(new TextClassifierOptions
            {
                Base = EncoderSource.FromTransformer(pretrained), MaxEpoch = 1, Device = "cpu",
            }));
        AssertDisposed(pretrained, Assert.Throws<Exception>(() => classifier.Fit(TinyModels.Data(ml))));
    }

    private sealed class Mail
    {
        public string Text { get; set; } = "";
    }

    private sealed class Scored
    {
        public float Probability { get; set; }
    }

    [TestMethod]
    public void APredictionEngineMadeBeforeDisposeRefusesToo()
    {
        var ml = new MLContext();
        var chain = (TransformerChain<ITransformer>)TinyModels.Load(ml, TinyModels.ClassifierZip);
        var engine = ml.Model.CreatePredictionEngine<Mail, Scored>(chain);
        Assert.IsTrue(engine.Predict(new Mail { Text = "free money now" }).Probability is >= 0 and <= 1);
        ((IDisposable)chain.LastTransformer).Dispose();
        AssertDisposed(chain.LastTransformer, Assert.Throws<Exception>(() => engine.Predict(new Mail { Text = "free money now" })));
    }

    private static void AssertDisposed(object model, Exception error)
    {
        var cause = ModelZipIntegrityTests.Find<ObjectDisposedException>(error);
        Assert.IsNotNull(cause, error.ToString());
        StringAssert.Contains(cause.Message, model.GetType().Name);
    }
}
