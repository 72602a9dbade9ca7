using Microsoft.ML;
using Microsoft.ML.Data;
using Pipelines.Models.HuggingFace;
using static TorchSharp.torch;

namespace Pipelines.Estimators.Tests.FineTuning;

[TestClass]
public sealed class HuggingFaceStartTests
{
    internal static string Fixture(string name) => Path.Combine(AppContext.BaseDirectory, "fixtures", "huggingface", name);

    // The bert fixture's vocab.txt lists "a" twice (transformers keeps the last line's id; this
    // library refuses a repeated token), so the test uses a copy whose second "a" is renamed.
    internal static string BertDirectory()
    {
        var directory = Path.Combine(Path.GetTempPath(), $"hf-bert-{Guid.NewGuid():N}");
        Directory.CreateDirectory(directory);
        foreach (var file in Directory.GetFiles(Fixture("bert"))) File.Copy(file, Path.Combine(directory, Path.GetFileName(file)));
        var lines = File.ReadAllLines(Path.Combine(directory, "vocab.txt"));
        var first = Array.IndexOf(lines, "a");
        lines[Array.IndexOf(lines, "a", first + 1)] = "an";
        File.WriteAllLines(Path.Combine(directory, "vocab.txt"), lines);
        return directory;
    }

    private sealed class Mail
    {
        public string Text { get; set; } = "";
        public bool Label { get; set; }
    }

    private static List<Mail> Mails(int count, int seed)
    {
        var random = new Random(seed);
        string[] spam = ["free money", "click here", "win a prize", "free prize"], ham = ["meeting on tuesday", "see the dog", "hello world"];
        return Enumerable.Range(0, count).Select(i =>
        {
            var isSpam = i % 2 == 0;
            var words = isSpam ? spam : ham;
            return new Mail { Text = $"{words[random.Next(words.Length)]} {words[random.Next(words.Length)]}", Label = isSpam };
        }).ToList();
    }

    [TestMethod]
    public void ClassifierStartsFromABertDirectoryWithItsWeightsAndVocabulary()
    {
        var ml = new MLContext(seed: 1);
        var directory = BertDirectory();
        var tokenizer = EncoderSource.HuggingFaceTokenizer(directory);
        var vocab = File.ReadAllLines(Path.Combine(directory, "vocab.txt"));
        int[] expectedIds = [2, Array.IndexOf(vocab, "the"), Array.IndexOf(vocab, "quick"), Array.IndexOf(vocab, "brown"), 3];
        CollectionAssert.AreEqual(expectedIds, tokenizer.Encode("The quick brown").Ids.ToArray(), "vocab.txt line numbers, lower-cased");
        var options = new TextClassifierOptions
        {
            Base = EncoderSource.FromHuggingFace(directory), Strategy = FineTuneStrategy.HeadOnly, Pooling = Pooling.Mean,
            MaxEpoch = 3, BatchSize = 8, LearningRate = 1e-2, MaxLength = 16, Device = TestDevice.Option, Seed = 2,
        };
        var model = ml.Transforms.Text.TokenizeSubwords("Tokens", "Text", tokenizer, maxLength: 16)
            .Append(ml.BinaryClassification.Trainers.TransformerClassifier(options))
            .Fit(ml.Data.LoadFromEnumerable(Mails(64, 1)));
        var classifier = (TextClassificationTransformer)((IEnumerable<ITransformer>)model).Last();

        // Head-only training leaves the encoder exactly as the checkpoint has it.
        var checkpoint = HuggingFaceImport.Load(directory).PreTrainingModel.Bert;
        var expected = checkpoint.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        var compared = 0;
        foreach (var (name, parameter) in classifier.Model.Bert.named_parameters())
        {
            if (name.StartsWith("pooler", StringComparison.Ordinal)) continue;
            Assert.AreEqual(0f, (parameter.cpu() - expected[name].cpu()).abs().max().item<float>(), name);
            compared++;
        }
        Assert.IsGreaterThan(10, compared);
        Assert.AreEqual(2, classifier.ClassNames.Count);
    }

    [TestMethod]
    public void TaggerStartsFromARobertaDirectoryAndItsZipPredictsTheSame()
    {
        var ml = new MLContext(seed: 1);
        var directory = Fixture("roberta");
        var tokenizer = EncoderSource.HuggingFaceTokenizer(directory);
        var rows = SyntheticNer.Make(60, seed: 4);
        var options = new TokenClassifierOptions
        {
            Base = EncoderSource.FromHuggingFace(directory), MaxEpoch = 2, BatchSize = 8, MaxLength = 32, Device = TestDevice.Option, Seed = 2,
        };
        var pipeline = ml.Transforms.Text.TokenizeSubwords("Tokens", "Sentence", tokenizer, maxLength: 32)
            .Append(ml.MulticlassClassification.Trainers.TransformerTokenClassifier(options));
        var data = ml.Data.LoadFromEnumerable(rows);
        var model = pipeline.Fit(data);
        var tagger = (TokenClassificationTransformer)((IEnumerable<ITransformer>)model).Last();
        Assert.AreEqual(1, tagger.Model.Bert.Config.PositionOffset > 0 ? 1 : 0, "RoBERTa's position offset came with the checkpoint");

        var predicted = model.Transform(data).GetColumn<VBuffer<ReadOnlyMemory<char>>>("PredictedLabel").Select(v => string.Join(' ', v.DenseValues())).ToList();
        for (var i = 0; i < rows.Count; i++) Assert.AreEqual(rows[i].Label.Length, predicted[i].Split(' ').Length, $"row {i}");
        var path = Path.Combine(Path.GetTempPath(), $"hf-tagger-{Guid.NewGuid():N}.zip");
        try
        {
            ml.Model.Save(model, data.Schema, path);
            var again = new MLContext().Model.Load(path, out _).Transform(data)
                .GetColumn<VBuffer<ReadOnlyMemory<char>>>("PredictedLabel").Select(v => string.Join(' ', v.DenseValues())).ToList();
            CollectionAssert.AreEqual(predicted, again);
        }
        finally { File.Delete(path); }
    }

    [TestMethod]
    public void RowsLongerThanTheCheckpointsPositionsAreCutToThemAndLogged()
    {
        // The roberta fixture has 42 position rows, 40 usable after RoBERTa's offset of 2; the options ask for 128.
        var ml = new MLContext(seed: 1);
        var logged = new List<string>();
        ml.Log += (_, e) => { lock (logged) logged.Add(e.Message); };
        var directory = Fixture("roberta");
        var tokenizer = EncoderSource.HuggingFaceTokenizer(directory);
        var mails = Mails(16, 3).Select(m => new Mail { Text = string.Join(' ', Enumerable.Repeat(m.Text, 20)), Label = m.Label }).ToList();
        var options = new TextClassifierOptions
        {
            Base = EncoderSource.FromHuggingFace(directory), MaxEpoch = 1, BatchSize = 8, MaxLength = 128, Device = TestDevice.Option, Seed = 2,
        };
        var model = ml.Transforms.Text.TokenizeSubwords("Tokens", "Text", tokenizer, maxLength: 128)
            .Append(ml.BinaryClassification.Trainers.TransformerClassifier(options))
            .Fit(ml.Data.LoadFromEnumerable(mails));
        Assert.IsTrue(logged.Any(m => m.Contains("The model has 40 positions: rows are cut to 40 tokens")), string.Join(" | ", logged.Where(m => m.Contains("position"))));
        var probabilities = model.Transform(ml.Data.LoadFromEnumerable(mails)).GetColumn<float>("Probability").ToArray();
        Assert.IsTrue(probabilities.All(float.IsFinite));
    }

    [TestMethod]
    public void ADecoderDirectoryIsRefusedWithTheReason()
    {
        var ml = new MLContext(seed: 1);
        var tokenizer = EncoderSource.HuggingFaceTokenizer(BertDirectory());
        var options = new TextClassifierOptions { Base = EncoderSource.FromHuggingFace(Fixture("gpt2")), Device = TestDevice.Option };
        var pipeline = ml.Transforms.Text.TokenizeSubwords("Tokens", "Text", tokenizer, maxLength: 16)
            .Append(ml.BinaryClassification.Trainers.TransformerClassifier(options));
        var error = Assert.ThrowsExactly<InvalidDataException>(() => pipeline.Fit(ml.Data.LoadFromEnumerable(Mails(8, 1))));
        StringAssert.Contains(error.Message, "decoder");
        Assert.ThrowsExactly<DirectoryNotFoundException>(() => EncoderSource.HuggingFaceTokenizer(Fixture("missing")));
    }
}
