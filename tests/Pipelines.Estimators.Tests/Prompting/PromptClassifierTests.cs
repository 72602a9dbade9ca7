using Microsoft.ML;
using Microsoft.ML.Data;

namespace Pipelines.Estimators.Tests.Prompting;

/// <summary>
/// The prompt-based classifier on synthetic mail, whose spam rows hold spam words ("prize", "cash")
/// and ham rows work words ("meeting", "budget"): a masked-LM pretrained on the unlabelled mails
/// learns which words keep company, so "... it was [MASK]" already leans to the right class's words
/// before any label (zero-shot), and a few labels sharpen it.
/// </summary>
[TestClass]
public sealed class PromptClassifierTests
{
    private static readonly List<SyntheticMail.Mail> Train = SyntheticMail.Make(400, seed: 1);
    private static readonly List<SyntheticMail.Mail> Test = SyntheticMail.Make(200, seed: 2);
    private static readonly TextTokenizer Tokenizer = SyntheticMail.Tokenizer(Train);
    private static readonly Lazy<MaskedLanguageModelTransformer> Pretrained = new(() =>
    {
        var ml = new MLContext(seed: 1);
        return (MaskedLanguageModelTransformer)((IEnumerable<ITransformer>)Tokenize(ml).Append(ml.Pretraining.MaskedLanguageModel(new MaskedLanguageModelOptions
        {
            Tokenizer = Tokenizer, Layers = 1, Hidden = 32, Heads = 2, MaxLength = 32, MaxSteps = 300, BatchSize = 32, Device = TestDevice.Option, Seed = 4,
        })).Fit(ml.Data.LoadFromEnumerable(Train))).Last();
    });

    private static readonly Dictionary<string, string[]> Words = new()
    {
        ["True"] = ["prize", "cash", "free", "winner"],
        ["False"] = ["meeting", "budget", "report", "agenda"],
    };

    private static IEstimator<ITransformer> Tokenize(MLContext ml) => ml.Transforms.Text.TokenizeSubwords("Tokens", "Text", Tokenizer, maxLength: 32);

    private static PromptClassifierOptions Options(bool zeroShot = false) => new()
    {
        Base = EncoderSource.FromTransformer(Pretrained.Value), Template = "{text} it was [MASK]", Verbalizer = Words, ZeroShot = zeroShot,
        MaxLength = 40, MaxEpoch = 10, BatchSize = 8, LearningRate = 1e-3, Device = TestDevice.Option, Seed = 3,
    };

    private static double Auc(MLContext ml, ITransformer model) =>
        ml.BinaryClassification.Evaluate(model.Transform(ml.Data.LoadFromEnumerable(Test))).AreaUnderRocCurve;

    [TestMethod]
    public void ZeroShotIsThePretrainedHeadsScoreOfTheClassWordsAtTheMask()
    {
        var ml = new MLContext(seed: 1);
        var unlabelled = Train.Select(m => new SyntheticMail.Mail { Text = m.Text, LabelOrMissing = float.NaN });
        var options = Options(zeroShot: true);
        options.LabelColumnName = nameof(SyntheticMail.Mail.LabelOrMissing);
        var model = Tokenize(ml).Append(ml.BinaryClassification.Trainers.PromptClassifier(options)).Fit(ml.Data.LoadFromEnumerable(unlabelled));
        var prompt = (PromptClassificationTransformer)((IEnumerable<ITransformer>)model).Last();
        Assert.IsNull(prompt.Training, "zero-shot trains nothing");
        var probabilities = model.Transform(ml.Data.LoadFromEnumerable(Test)).GetColumn<float>("Probability").ToArray();

        // By hand, from the pretrained model itself: "[CLS] text it was [MASK] [SEP]", its masked-LM
        // logits at the mask, the mean over each class's words, softmax.
        using var scope = TorchSharp.torch.NewDisposeScope();
        using var _ = TorchSharp.torch.no_grad();
        var mask = Tokenizer.MaskId!.Value;
        for (var row = 0; row < 5; row++)
        {
            var ids = prompt.Prompt(Tokenizer.Encode(Test[row].Text, maxLength: 32).Ids);
            Assert.AreEqual(1, ids.Count(id => id == mask));
            var logits = Pretrained.Value.Model.Forward(TorchSharp.torch.tensor(ids.Select(i => (long)i).ToArray()).view(1, -1)).TokenLogits[0, Array.IndexOf(ids, mask)];
            double Mean(string[] words) => words.Average(w => logits[Tokenizer.Encode(w, addSpecialTokens: false).Ids.Single()].item<float>());
            var (negative, positive) = (Mean(Words["False"]), Mean(Words["True"]));
            Assert.AreEqual(1 / (1 + Math.Exp(negative - positive)), probabilities[row], 1e-5, $"row {row}");
        }
    }

    [TestMethod]
    public void AFewLabelsFineTuneTheEncoderThroughTheSameHead()
    {
        var ml = new MLContext(seed: 1);
        var zeroShot = Tokenize(ml).Append(ml.BinaryClassification.Trainers.PromptClassifier(Options(zeroShot: true))).Fit(ml.Data.LoadFromEnumerable(Train.Take(16)));
        var fewShot = Tokenize(ml).Append(ml.BinaryClassification.Trainers.PromptClassifier(Options())).Fit(ml.Data.LoadFromEnumerable(Train.Take(16)));
        var (zeroShotAuc, fewShotAuc) = (Auc(ml, zeroShot), Auc(ml, fewShot));
        Assert.IsGreaterThan(Math.Max(0.7, zeroShotAuc + 0.1), fewShotAuc, $"16 labels: AUC {fewShotAuc} (zero-shot {zeroShotAuc})");
        var prompt = (PromptClassificationTransformer)((IEnumerable<ITransformer>)fewShot).Last();
        Assert.IsNotNull(prompt.Training);
        CollectionAssert.AreEqual(new[] { "meeting", "budget", "report", "agenda" }, prompt.ClassWords[0], "class 0 is False");
    }

    [TestMethod]
    public void TheZipPredictsTheSameAndTheTemplateIsApplied()
    {
        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadFromEnumerable(Train.Take(16));
        var model = Tokenize(ml).Append(ml.BinaryClassification.Trainers.PromptClassifier(Options())).Fit(data);
        var probabilities = model.Transform(ml.Data.LoadFromEnumerable(Test)).GetColumn<float>("Probability").ToArray();
        var path = Path.Combine(Path.GetTempPath(), $"prompt-{Guid.NewGuid():N}.zip");
        try
        {
            ml.Model.Save(model, data.Schema, path);
            var other = new MLContext();
            var loaded = other.Model.Load(path, out _);
            CollectionAssert.AreEqual(probabilities, loaded.Transform(other.Data.LoadFromEnumerable(Test)).GetColumn<float>("Probability").ToArray());
            var engine = other.Model.CreatePredictionEngine<SyntheticMail.Mail, Prediction>(loaded);
            Assert.AreEqual(probabilities[0], engine.Predict(Test[0]).Probability, 1e-5f);
            var prompt = (PromptClassificationTransformer)((IEnumerable<ITransformer>)loaded).Last();
            var text = Tokenizer.Decode(prompt.Prompt(Tokenizer.Encode("free cash now").Ids), skipSpecial: false);
            Assert.AreEqual("[CLS] free cash now it was [MASK] [SEP]", text);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [TestMethod]
    public void MulticlassReadsTheKeyNamesAndTheEvaluatorWorks()
    {
        var ml = new MLContext(seed: 1);
        var topics = new Dictionary<string, string[]> { ["spam"] = ["prize", "cash"], ["ham"] = ["meeting", "report"], ["work"] = ["budget", "agenda"] };
        var options = Options();
        options.Verbalizer = topics;
        var model = ml.Transforms.Conversion.MapValueToKey("Label", "Topic").Append(Tokenize(ml))
            .Append(ml.MulticlassClassification.Trainers.PromptClassifier(options)).Fit(ml.Data.LoadFromEnumerable(Train.Take(48)));
        var metrics = ml.MulticlassClassification.Evaluate(model.Transform(ml.Data.LoadFromEnumerable(Test)));
        Assert.IsGreaterThan(0.5, metrics.MicroAccuracy, $"accuracy {metrics.MicroAccuracy}: spam apart from the rest at least");
        var prompt = (PromptClassificationTransformer)((IEnumerable<ITransformer>)model).Last();
        CollectionAssert.AreEquivalent(new[] { "spam", "ham", "work" }, prompt.ClassNames.ToArray());
    }

    [TestMethod]
    public void BadTemplatesVerbalizersAndStartsAreRefusedByName()
    {
        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadFromEnumerable(Train.Take(16));
        string Refusal(Action<PromptClassifierOptions> change)
        {
            var options = Options();
            change(options);
            return Assert.Throws<ArgumentException>(() => Tokenize(ml).Append(ml.BinaryClassification.Trainers.PromptClassifier(options)).Fit(data)).Message;
        }
        StringAssert.Contains(Refusal(o => o.Template = "{text} it was good."), "[MASK]");
        StringAssert.Contains(Refusal(o => o.Template = "{text} [MASK] and [MASK]"), "exactly once");
        StringAssert.Contains(Refusal(o => o.Base = EncoderSource.None), "Base");
        StringAssert.Contains(Refusal(o => o.Verbalizer = new Dictionary<string, string[]> { ["True"] = ["prize"] }), "Verbalizer");
        StringAssert.Contains(Refusal(o => o.Verbalizer = new Dictionary<string, string[]> { ["True"] = ["prize"], ["Maybe"] = ["cash"] }), "Maybe");
        StringAssert.Contains(Refusal(o => o.Verbalizer = new Dictionary<string, string[]> { ["True"] = ["prize"], ["False"] = ["prize"] }), "both");
        // A word the vocabulary splits is left out; a class left with none is refused, naming the pieces' problem.
        StringAssert.Contains(Refusal(o => o.Verbalizer = new Dictionary<string, string[]> { ["True"] = ["prize"], ["False"] = ["xyzzyplugh"] }), "single token");
        StringAssert.Contains(Refusal(o => o.MaxLength = 5), "no room for text");   // [CLS] it was [MASK] [SEP]
    }

    [TestMethod]
    public void LongTextsAreCutSoTheTemplateAlwaysFitsAndTheMaskMayComeFirst()
    {
        var ml = new MLContext(seed: 1);
        var options = Options(zeroShot: true);
        (options.Template, options.MaxLength) = ("[MASK] mail: {text}", 12);
        var model = Tokenize(ml).Append(ml.BinaryClassification.Trainers.PromptClassifier(options)).Fit(ml.Data.LoadFromEnumerable(Train.Take(8)));
        var prompt = (PromptClassificationTransformer)((IEnumerable<ITransformer>)model).Last();
        var row = Tokenizer.Encode(string.Join(' ', Enumerable.Repeat("free cash", 20)), maxLength: 32).Ids;
        var ids = prompt.Prompt(row);
        Assert.HasCount(12, ids);
        Assert.AreEqual(Tokenizer.MaskId, ids[1]);
        Assert.AreEqual(Tokenizer.SepId, ids[^1]);
        StringAssert.StartsWith(Tokenizer.Decode(ids), "mail");
        Assert.AreEqual("[CLS] [MASK] mail [SEP]", Tokenizer.Decode(prompt.Prompt([Tokenizer.ClsId, Tokenizer.SepId]), skipSpecial: false).Replace(" :", "").Replace(" [UNK]", ""));
    }

    [TestMethod]
    public void AWordTheVocabularySplitsIsLeftOutAndTheRestServe()
    {
        var ml = new MLContext(seed: 1);
        var options = Options(zeroShot: true);
        options.Verbalizer = new Dictionary<string, string[]> { ["True"] = ["prize", "prizewinning"], ["False"] = ["meeting"] };
        var model = Tokenize(ml).Append(ml.BinaryClassification.Trainers.PromptClassifier(options)).Fit(ml.Data.LoadFromEnumerable(Train.Take(8)));
        var prompt = (PromptClassificationTransformer)((IEnumerable<ITransformer>)model).Last();
        CollectionAssert.AreEqual(new[] { "prize" }, prompt.ClassWords[1]);
    }

    [TestMethod]
    [DataRow("bert", "free", "meeting")]
    [DataRow("roberta", "to", "at")]   // byte-level BPE: the words are read as " to" and " at", as inside a sentence
    public void HuggingFaceMaskedLmsClassifyZeroShotWithTheirOwnHead(string kind, string positive, string negative)
    {
        var directory = kind == "bert" ? FineTuning.HuggingFaceStartTests.BertDirectory() : FineTuning.HuggingFaceStartTests.Fixture(kind);
        var tokenizer = EncoderSource.HuggingFaceTokenizer(directory);
        var ml = new MLContext(seed: 1);
        var mails = new[] { "free money click here", "hello world see the dog", "win a prize" }
            .Select(t => new SyntheticMail.Mail { Text = t, Label = t.Contains("free") }).ToList();
        var model = ml.Transforms.Text.TokenizeSubwords("Tokens", "Text", tokenizer, maxLength: 16)
            .Append(ml.BinaryClassification.Trainers.PromptClassifier(new PromptClassifierOptions
            {
                Base = EncoderSource.FromHuggingFace(directory), Template = "{text} It was [MASK].", ZeroShot = true, MaxLength = 24,
                Verbalizer = new Dictionary<string, string[]> { ["True"] = [positive], ["False"] = [negative] }, Device = TestDevice.Option,
            }))
            .Fit(ml.Data.LoadFromEnumerable(mails));
        var prompt = (PromptClassificationTransformer)((IEnumerable<ITransformer>)model).Last();
        CollectionAssert.AreEqual(new[] { negative }, prompt.ClassWords[0]);
        CollectionAssert.AreEqual(new[] { positive }, prompt.ClassWords[1]);
        var probabilities = model.Transform(ml.Data.LoadFromEnumerable(mails)).GetColumn<float>("Probability").ToArray();

        using var reference = MaskedLanguageModelTransformer.FromHuggingFace(directory);
        using var scope = TorchSharp.torch.NewDisposeScope();
        using var _ = TorchSharp.torch.no_grad();
        for (var row = 0; row < mails.Count; row++)
        {
            var ids = prompt.Prompt(tokenizer.Encode(mails[row].Text, maxLength: 16).Ids);
            var logits = reference.Model.Forward(TorchSharp.torch.tensor(ids.Select(i => (long)i).ToArray()).view(1, -1))
                .TokenLogits[0, Array.IndexOf(ids, tokenizer.MaskId!.Value)];
            var (yes, no) = (logits[prompt.Model.ClassWords[1][0]].item<float>(), logits[prompt.Model.ClassWords[0][0]].item<float>());
            Assert.AreEqual(1 / (1 + Math.Exp(no - yes)), probabilities[row], 1e-5, $"{kind} row {row}");
        }
    }

    private sealed class Prediction
    {
        public float Probability { get; set; }
    }
}
