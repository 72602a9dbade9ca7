using Microsoft.ML;
using Microsoft.ML.Data;

namespace Pipelines.Estimators.Tests;

/// <summary>
/// The trainers learn the tokenizer and the maximum length from the token column TokenizeSubwords
/// wrote, so nobody passes them twice; a token column made another way needs the tokenizer option;
/// raw-text validation data is tokenized like the training data.
/// </summary>
[TestClass]
public sealed class TokenColumnTests
{
    private static readonly List<SyntheticMail.Mail> Train = SyntheticMail.Make(200, seed: 1);
    private static readonly List<SyntheticMail.Mail> Test = SyntheticMail.Make(60, seed: 2);
    private static readonly TextTokenizer Tokenizer = SyntheticMail.Tokenizer(Train);

    private static MaskedLanguageModelOptions TinyPretraining() => new()
    {
        Layers = 1, Hidden = 16, Heads = 2, MaxSteps = 4, BatchSize = 8, EvaluateEvery = 0, Device = TestDevice.Option, Seed = 1,
    };

    private static TextClassifierOptions TinyClassifier() => new()
    {
        Layers = 1, Hidden = 16, Heads = 2, MaxEpoch = 1, BatchSize = 16, Device = TestDevice.Option, Seed = 1,
    };

    [TestMethod]
    public void PretrainingAndFineTuningReadTheTokenizerAndMaxLengthFromTheColumn()
    {
        var ml = new MLContext(seed: 1);
        var pretraining = ml.Pretraining.MaskedLanguageModel(TinyPretraining());
        var classifier = TinyClassifier();
        classifier.Base = EncoderSource.FromEstimator(pretraining);
        var model = ml.Transforms.Text.TokenizeSubwords("Tokens", "Text", Tokenizer, maxLength: 24)
            .Append(pretraining)
            .Append(ml.BinaryClassification.Trainers.TransformerClassifier(classifier))
            .Fit(ml.Data.LoadFromEnumerable(Train));
        var pretrained = pretraining.LastFitted!;
        Assert.AreEqual(Tokenizer.Fingerprint, pretrained.Tokenizer.Fingerprint, "the tokenizer TokenizeSubwords recorded");
        Assert.AreEqual(24, pretrained.Config.MaxSequenceLength, "the model's positions: the column's maximum length");

        var scratch = TinyClassifier();
        var fromScratch = ml.Transforms.Text.TokenizeSubwords("Tokens", "Text", Tokenizer, maxLength: 20)
            .Append(ml.BinaryClassification.Trainers.TransformerClassifier(scratch))
            .Fit(ml.Data.LoadFromEnumerable(Train));
        Assert.AreEqual(Tokenizer.VocabSize, fromScratch.LastTransformer.Model.Bert.Config.VocabSize, "vocabulary from the column's tokenizer");
        Assert.AreEqual(20, fromScratch.LastTransformer.Model.Bert.Config.MaxSequenceLength);
        Assert.IsNotNull(model.Transform(ml.Data.LoadFromEnumerable(Test)).GetColumn<float>("Probability").First());
    }

    [TestMethod]
    public void TheColumnKeepsItsTokenizationThroughAModelZip()
    {
        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadFromEnumerable(Train);
        var tokenize = ml.Transforms.Text.TokenizeSubwords("Tokens", "Text", Tokenizer, maxLength: 24).Fit(data);
        var path = Path.Combine(Path.GetTempPath(), $"tokenize-{Guid.NewGuid():N}.zip");
        try
        {
            ml.Model.Save(tokenize, data.Schema, path);
            var loaded = new MLContext().Model.Load(path, out _);
            var tokenization = TokenizationAnnotation.Get(loaded.Transform(data).Schema["Tokens"]);
            Assert.IsNotNull(tokenization);
            Assert.AreEqual(Tokenizer.Fingerprint, tokenization.Tokenizer.Fingerprint, "a loaded copy has the same fingerprint");
            Assert.AreEqual(24, tokenization.MaxLength);
            Assert.IsNull(TokenizationAnnotation.Get(loaded.Transform(data).Schema["Tokens.AttentionMask"]), "only the token-id column carries it");
        }
        finally { File.Delete(path); }
    }

    private sealed class Tokenized
    {
        [VectorType] public int[] Tokens { get; set; } = [];
        public bool Label { get; set; }
    }

    [TestMethod]
    public void ATokenColumnMadeElsewhereNeedsTheTokenizerOption()
    {
        var ml = new MLContext(seed: 1);
        var rows = Train.Select(m => new Tokenized { Tokens = Tokenizer.Encode(m.Text, maxLength: 24).Ids, Label = m.Label }).ToList();
        var data = ml.Data.LoadFromEnumerable(rows);

        var e = Assert.ThrowsExactly<ArgumentException>(() => ml.Pretraining.MaskedLanguageModel(TinyPretraining()).Fit(data));
        StringAssert.Contains(e.Message, "Column 'Tokens' does not say which tokenizer wrote it");
        StringAssert.Contains(e.Message, "MaskedLanguageModelOptions.Tokenizer");
        e = Assert.ThrowsExactly<ArgumentException>(() => ml.BinaryClassification.Trainers.TransformerClassifier(TinyClassifier()).GetOutputSchema(SchemaShape.Create(data.Schema)));
        StringAssert.Contains(e.Message, "FineTuningOptions.Tokenizer", "refused before any data is read");

        var options = TinyPretraining();
        options.Tokenizer = Tokenizer;
        var pretrained = ml.Pretraining.MaskedLanguageModel(options).Fit(data);
        Assert.AreEqual(TokenColumnDefaultMaxLength, pretrained.Config.MaxSequenceLength, "no length on the column: the default");
        var classifier = TinyClassifier();
        classifier.Tokenizer = Tokenizer;
        classifier.MaxLength = 24;
        Assert.AreEqual(24, ml.BinaryClassification.Trainers.TransformerClassifier(classifier).Fit(data).Model.Bert.Config.MaxSequenceLength);
    }

    private const int TokenColumnDefaultMaxLength = 128;

    private sealed class LabelOnly
    {
        public bool Label { get; set; }
    }

    [TestMethod]
    public void ATokenizerOtherThanTheColumnsIsRefused()
    {
        var ml = new MLContext(seed: 1);
        var other = SyntheticMail.Tokenizer(SyntheticMail.Make(200, seed: 9).Select(m => new SyntheticMail.Mail { Text = m.Text + " extra words here" }).ToList());
        Assert.AreNotEqual(Tokenizer.Fingerprint, other.Fingerprint);
        var data = ml.Transforms.Text.TokenizeSubwords("Tokens", "Text", Tokenizer, maxLength: 24).Fit(ml.Data.LoadFromEnumerable(Train))
            .Transform(ml.Data.LoadFromEnumerable(Train));
        var options = TinyPretraining();
        options.Tokenizer = other;
        var e = Assert.ThrowsExactly<ArgumentException>(() => ml.Pretraining.MaskedLanguageModel(options).Fit(data));
        StringAssert.Contains(e.Message, "Column 'Tokens' was written by another tokenizer than MaskedLanguageModelOptions.Tokenizer");

        // A pretrained start whose tokenizer is not the column's is refused as well.
        var pretrained = ml.Pretraining.MaskedLanguageModel(options).Fit(
            ml.Transforms.Text.TokenizeSubwords("Tokens", "Text", other, maxLength: 24).Fit(ml.Data.LoadFromEnumerable(Train)).Transform(ml.Data.LoadFromEnumerable(Train)));
        var classifier = TinyClassifier();
        classifier.Base = EncoderSource.FromTransformer(pretrained);
        e = Assert.ThrowsExactly<ArgumentException>(() => ml.BinaryClassification.Trainers.TransformerClassifier(classifier).Fit(data));
        StringAssert.Contains(e.Message, "another tokenizer than the pretrained model's");
        // The same tokenizer, even another instance of it (saved and loaded), is accepted.
        using var copy = new MemoryStream();
        Tokenizer.Save(copy);
        copy.Position = 0;
        options.Tokenizer = TextTokenizer.Load(copy);
        Assert.AreEqual(24, ml.Pretraining.MaskedLanguageModel(options).Fit(data).Config.MaxSequenceLength);
    }

    [TestMethod]
    public void RawTextValidationIsTokenizedLikeTheTrainingData()
    {
        var ml = new MLContext(seed: 1);
        var classifier = TinyClassifier();
        classifier.MaxEpoch = 2;
        classifier.ValidationSet = ml.Data.LoadFromEnumerable(Test);   // Text and Label, no tokens
        var model = ml.Transforms.Text.TokenizeSubwords("Tokens", "Text", Tokenizer, maxLength: 24)
            .Append(ml.BinaryClassification.Trainers.TransformerClassifier(classifier))
            .Fit(ml.Data.LoadFromEnumerable(Train));
        Assert.AreEqual(2, model.LastTransformer.Training!.Validations.Count, "validated after each epoch on the raw-text rows");

        var pretraining = TinyPretraining();
        pretraining.EvaluateEvery = 2;
        pretraining.ValidationSet = ml.Data.LoadFromEnumerable(Test);
        var pretrained = ml.Transforms.Text.TokenizeSubwords("Tokens", "Text", Tokenizer, maxLength: 24)
            .Append(ml.Pretraining.MaskedLanguageModel(pretraining)).Fit(ml.Data.LoadFromEnumerable(Train));
        Assert.IsGreaterThan(0, pretrained.LastTransformer.Training!.Validations.Count);

        classifier.ValidationSet = ml.Data.LoadFromEnumerable(Test.Select(m => new LabelOnly { Label = m.Label }));
        var e = Assert.ThrowsExactly<ArgumentException>(() => ml.Transforms.Text.TokenizeSubwords("Tokens", "Text", Tokenizer, maxLength: 24)
            .Append(ml.BinaryClassification.Trainers.TransformerClassifier(classifier)).Fit(ml.Data.LoadFromEnumerable(Train)));
        StringAssert.Contains(e.Message, "ValidationSet has no column 'Tokens'. It may hold raw text in 'Text'");
    }
}
