using Microsoft.ML;
using Microsoft.ML.Data;

namespace Pipelines.Estimators.Tests.Reliability;

/// <summary>Bad rows at training and at inference time: defined results, counted skips, or an error that names the cause.</summary>
[TestClass]
public sealed class BadInputTests
{
    private sealed class Row
    {
        public string? Text { get; set; }
    }

    private static readonly string[] OddTexts =
    [
        "", "   ", "\u0000\u0007\u001F control", "emoji 😀🎉 and 👩‍👩‍👧", "lone \ud800 surrogate \udc00", "zero\u200Bwidth", "ünïcödé ñ",
        new string('x', 1_000_000), string.Concat(Enumerable.Repeat("meeting agenda ", 70_000)),
    ];

    [TestMethod]
    public void OddEmptyAndHugeTextsGetFiniteClassifierProbabilities()
    {
        var ml = new MLContext();
        var model = TinyModels.Load(ml, TinyModels.ClassifierZip);
        var probabilities = model.Transform(ml.Data.LoadFromEnumerable(OddTexts.Select(t => new Row { Text = t })))
            .GetColumn<float>("Probability").ToArray();
        Assert.HasCount(OddTexts.Length, probabilities);
        Assert.IsTrue(probabilities.All(p => p is >= 0 and <= 1), string.Join(", ", probabilities));
    }

    [TestMethod]
    public void OddEmptyAndHugeTextsGetFiniteEmbeddings()
    {
        var ml = new MLContext();
        var model = TinyModels.Load(ml, TinyModels.MaskedLmZip);
        var embeddings = model.Transform(ml.Data.LoadFromEnumerable(OddTexts.Select(t => new Row { Text = t })))
            .GetColumn<float[]>("Embedding").ToArray();
        Assert.IsTrue(embeddings.All(e => e.Length == 16 && e.All(float.IsFinite)));
    }

    [TestMethod]
    public void TokensFromAnotherTokenizerAreRefusedNamingTheVocabulary()
    {
        var ml = new MLContext();
        var model = (IEnumerable<ITransformer>)TinyModels.Load(ml, TinyModels.MaskedLmZip);
        var lm = model.OfType<MaskedLanguageModelTransformer>().Single();
        // The model's own transformer behind a tokenizer whose ids run far past the model's vocabulary.
        var foreign = ml.Transforms.Text.TokenizeSubwords("Tokens", "Text", TextTokenizer.FromTiktoken("cl100k_base"))
            .Fit(ml.Data.LoadFromEnumerable(new[] { new Row { Text = "x" } }));
        var data = foreign.Transform(ml.Data.LoadFromEnumerable(new[] { new Row { Text = "unbelievable extraordinary words" } }));
        var error = Assert.Throws<Exception>(() => lm.Transform(data).GetColumn<float[]>("Embedding").ToArray());
        var cause = ModelZipIntegrityTests.Find<ArgumentOutOfRangeException>(error);
        Assert.IsNotNull(cause, error.ToString());
        StringAssert.Contains(cause.Message, $"outside the model's vocabulary of {lm.Config.VocabSize} ids");
    }

    private sealed class Tagged
    {
        public string Text { get; set; } = "";
        public string[] Label { get; set; } = [];
    }

    [TestMethod]
    public void FineTuningSchemaErrorsNameTheColumn()
    {
        var ml = new MLContext(seed: 1);
        var tokenize = ml.Transforms.Text.TokenizeSubwords("Tokens", "Text", TinyModels.Tokenizer, maxLength: 24);
        var mails = tokenize.Fit(TinyModels.Data(ml)).Transform(TinyModels.Data(ml));

        // The classifier: a token column that is not there, a label of the wrong type.
        var noTokens = Assert.Throws<ArgumentOutOfRangeException>(() =>
            ml.BinaryClassification.Trainers.TransformerClassifier(new TextClassifierOptions { Tokenizer = TinyModels.Tokenizer, TokenColumnName = "Missing", Device = "cpu" }).Fit(mails));
        StringAssert.Contains(noTokens.Message, "'Missing'");
        var badLabel = Assert.Throws<ArgumentOutOfRangeException>(() =>
            ml.BinaryClassification.Trainers.TransformerClassifier(new TextClassifierOptions { Tokenizer = TinyModels.Tokenizer, LabelColumnName = "Topic", Device = "cpu" }).Fit(mails));
        StringAssert.Contains(badLabel.Message, "'Topic'");

        // The tagger: no sentence column (it reads the words' tags against it).
        var sentences = ml.Data.LoadFromEnumerable(new[] { new Tagged { Text = "John lives in Paris", Label = ["B-PER", "O", "O", "B-LOC"] } });
        var tagged = tokenize.Fit(sentences).Transform(sentences);
        var noSentence = Assert.Throws<ArgumentOutOfRangeException>(() =>
            ml.MulticlassClassification.Trainers.TransformerTokenClassifier(new TokenClassifierOptions { Tokenizer = TinyModels.Tokenizer, Device = "cpu" }).Fit(tagged));
        StringAssert.Contains(noSentence.Message, "'Sentence'");
    }

    [TestMethod]
    public void PretrainingSkipsAndCountsRowsTooShortToLearnFrom()
    {
        foreach (var causal in new[] { true, false })
        {
            var ml = new MLContext(seed: 1);
            var warnings = new List<string>();
            ml.Log += (_, e) => { lock (warnings) warnings.Add(e.Message); };
            var texts = TinyModels.Mails.Select(m => m.Text).Take(60).Concat(["", "a", null, "b"]).ToList();
            var tokenize = ml.Transforms.Text.TokenizeSubwords(TinyModels.Tokenizer, new TokenizeSubwordsOptions { MaxLength = 24, AddSpecialTokens = false });
            IEstimator<ITransformer> pretrain = causal
                ? ml.Pretraining.CausalLanguageModel(new CausalLanguageModelOptions
                    { Tokenizer = TinyModels.Tokenizer, Layers = 1, Hidden = 16, Heads = 2, BlockSize = 16, MaxSteps = 2, BatchSize = 4, Device = "cpu" })
                : ml.Pretraining.MaskedLanguageModel(new MaskedLanguageModelOptions
                    { Tokenizer = TinyModels.Tokenizer, Layers = 1, Hidden = 16, Heads = 2, MaxLength = 24, MaxSteps = 2, BatchSize = 4, Device = "cpu" });
            tokenize.Append(pretrain).Fit(ml.Data.LoadFromEnumerable(texts.Select(t => new Row { Text = t })));
            // "", null, "a" and "b" have fewer than 2 tokens ("a" and "b" are single pieces of this vocabulary).
            Assert.IsTrue(warnings.Any(w => w.Contains("Skipped 4 rows of 'Tokens' with fewer than 2 tokens.")),
                (causal ? "causal: " : "masked: ") + string.Join(" | ", warnings.Where(w => w.Contains("kipped"))));
        }
    }
}
