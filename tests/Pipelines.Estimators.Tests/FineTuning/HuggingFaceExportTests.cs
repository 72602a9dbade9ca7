using Microsoft.ML;
using Microsoft.ML.Data;

namespace Pipelines.Estimators.Tests.FineTuning;

/// <summary>
/// Fitted classifiers and taggers out to Hugging Face directories (weights, config.json with the label
/// names, the pipeline's tokenizer files) and back in whole: the same tokens, the same predictions.
/// </summary>
[TestClass]
public sealed class HuggingFaceExportTests
{
    private static string TempDirectory() => Path.Combine(Path.GetTempPath(), $"hf-export-{Guid.NewGuid():N}");

    private static float[] Scores(IDataView scored) => scored.GetColumn<float>("Score").ToArray();

    [TestMethod]
    public void AClassifierAndItsTokenizerComeBackFromHuggingFaceFilesWithTheSameScores()
    {
        var ml = new MLContext(seed: 1);
        var mails = SyntheticMail.Make(120, seed: 5);
        var tokenizer = SyntheticMail.Tokenizer(mails);
        var data = ml.Data.LoadFromEnumerable(mails);
        var model = ml.Transforms.Text.TokenizeSubwords("Tokens", "Text", tokenizer, maxLength: 24)
            .Append(ml.BinaryClassification.Trainers.TransformerClassifier(new TextClassifierOptions
            {
                Tokenizer = tokenizer, Layers = 1, Hidden = 16, Heads = 2, MaxLength = 24, MaxEpoch = 2, BatchSize = 16,
                LearningRate = 2e-3, Pooling = Pooling.FirstToken, Device = TestDevice.Option, Seed = 1,
            }))
            .Fit(data);
        var classifier = (TextClassificationTransformer)((IEnumerable<ITransformer>)model).Last();
        var directory = TempDirectory();
        try
        {
            classifier.SaveAsHuggingFace(directory, tokenizer);
            CollectionAssert.IsSubsetOf(new[] { "config.json", "model.safetensors", "vocab.txt", "tokenizer_config.json" },
                Directory.GetFiles(directory).Select(Path.GetFileName).ToArray());

            var reloadedTokenizer = EncoderSource.HuggingFaceTokenizer(directory);
            Assert.AreEqual(tokenizer.Fingerprint, reloadedTokenizer.Fingerprint, "vocab.txt and tokenizer_config.json rebuild the same tokenizer");
            var reloaded = ml.Transforms.Text.TokenizeSubwords("Tokens", "Text", reloadedTokenizer, maxLength: 24).Fit(data)
                .Append(TextClassificationTransformer.FromHuggingFace(directory));
            CollectionAssert.AreEqual(classifier.ClassNames.ToArray(), ((TextClassificationTransformer)reloaded.LastTransformer).ClassNames.ToArray());
            var expected = Scores(model.Transform(data));
            CollectionAssert.AreEqual(expected, Scores(reloaded.Transform(data)));
            Assert.IsGreaterThan(50, expected.Distinct().Count(), "the scores differ between mails, so equal columns mean something");
            Assert.AreEqual(ml.BinaryClassification.Evaluate(model.Transform(data)).AreaUnderRocCurve,
                ml.BinaryClassification.Evaluate(reloaded.Transform(data)).AreaUnderRocCurve);
            Assert.Throws<InvalidDataException>(() => TokenClassificationTransformer.FromHuggingFace(directory));
        }
        finally { if (Directory.Exists(directory)) Directory.Delete(directory, recursive: true); }
    }

    [TestMethod]
    public void AMeanPooledClassifierIsRefusedAndLeavesNoFiles()
    {
        var ml = new MLContext(seed: 1);
        var mails = SyntheticMail.Make(40, seed: 6);
        var tokenizer = SyntheticMail.Tokenizer(mails);
        var model = ml.Transforms.Text.TokenizeSubwords("Tokens", "Text", tokenizer, maxLength: 24)
            .Append(ml.BinaryClassification.Trainers.TransformerClassifier(new TextClassifierOptions
            {
                Tokenizer = tokenizer, Layers = 1, Hidden = 16, Heads = 2, MaxLength = 24, MaxEpoch = 1, BatchSize = 16, Device = TestDevice.Option, Seed = 1,
            }))
            .Fit(ml.Data.LoadFromEnumerable(mails));
        var classifier = (TextClassificationTransformer)((IEnumerable<ITransformer>)model).Last();
        var directory = TempDirectory();
        try
        {
            var error = Assert.Throws<ArgumentException>(() => classifier.SaveAsHuggingFace(directory, tokenizer));
            StringAssert.Contains(error.Message, "Pooling.FirstToken");
            Assert.IsFalse(Directory.Exists(directory) && Directory.EnumerateFiles(directory).Any(), "no tokenizer files left without a model");
        }
        finally { if (Directory.Exists(directory)) Directory.Delete(directory, recursive: true); }
    }

    [TestMethod]
    public void ATaggerFromARobertaStartComesBackFromHuggingFaceFilesWithTheSameTags()
    {
        var ml = new MLContext(seed: 1);
        var start = HuggingFaceStartTests.Fixture("roberta");
        var tokenizer = EncoderSource.HuggingFaceTokenizer(start);
        var rows = SyntheticNer.Make(60, seed: 4);
        var data = ml.Data.LoadFromEnumerable(rows);
        var tokenize = ml.Transforms.Text.TokenizeSubwords("Tokens", "Sentence", tokenizer, maxLength: 32);
        var model = tokenize.Append(ml.MulticlassClassification.Trainers.TransformerTokenClassifier(new TokenClassifierOptions
        {
            Base = EncoderSource.FromHuggingFace(start), MaxEpoch = 2, BatchSize = 8, MaxLength = 32, Device = TestDevice.Option, Seed = 2,
        })).Fit(data);
        var tagger = (TokenClassificationTransformer)((IEnumerable<ITransformer>)model).Last();
        var directory = TempDirectory();
        try
        {
            tagger.SaveAsHuggingFace(directory, tokenizer);
            CollectionAssert.IsSubsetOf(new[] { "vocab.json", "merges.txt" }, Directory.GetFiles(directory).Select(Path.GetFileName).ToArray());
            var reloadedTokenizer = EncoderSource.HuggingFaceTokenizer(directory);
            var reloaded = ml.Transforms.Text.TokenizeSubwords("Tokens", "Sentence", reloadedTokenizer, maxLength: 32).Fit(data)
                .Append(TokenClassificationTransformer.FromHuggingFace(directory));
            CollectionAssert.AreEqual(tagger.TagNames.ToArray(), ((TokenClassificationTransformer)reloaded.LastTransformer).TagNames.ToArray());
            static List<string> Tags(IDataView scored) =>
                scored.GetColumn<VBuffer<ReadOnlyMemory<char>>>("PredictedLabel").Select(v => string.Join(' ', v.DenseValues())).ToList();
            var expected = Tags(model.Transform(data));
            CollectionAssert.AreEqual(expected, Tags(reloaded.Transform(data)));
            Assert.IsTrue(expected.Any(t => t.Contains("B-")), "the tagger finds entities, so equal columns mean something");
            Assert.Throws<InvalidDataException>(() => TextClassificationTransformer.FromHuggingFace(directory));
        }
        finally { if (Directory.Exists(directory)) Directory.Delete(directory, recursive: true); }
    }

    [TestMethod]
    public void PretrainedLanguageModelsLeaveWithTheirTokenizersAndComeBackTheSame()
    {
        var ml = new MLContext(seed: 1);
        var data = Reliability.TinyModels.Data(ml);
        var masked = ((IEnumerable<ITransformer>)Reliability.TinyModels.Load(ml, Reliability.TinyModels.MaskedLmZip)).OfType<MaskedLanguageModelTransformer>().Single();
        var causal = ((IEnumerable<ITransformer>)Reliability.TinyModels.Load(ml, Reliability.TinyModels.CausalLmZip)).OfType<CausalLanguageModelTransformer>().Single();
        var directory = TempDirectory();
        try
        {
            masked.SaveAsHuggingFace(directory);
            var back = MaskedLanguageModelTransformer.FromHuggingFace(directory);
            Assert.AreEqual(masked.Tokenizer.Fingerprint, back.Tokenizer.Fingerprint);
            var tokens = ml.Transforms.Text.TokenizeSubwords("Tokens", "Text", masked.Tokenizer, maxLength: 24).Fit(data).Transform(data);
            static float[][] Embeddings(ITransformer model, IDataView tokens) =>
                model.Transform(tokens).GetColumn<VBuffer<float>>("Embedding").Select(v => v.DenseValues().ToArray()).ToArray();
            var expected = Embeddings(masked, tokens);
            var actual = Embeddings(back, tokens);
            for (var i = 0; i < expected.Length; i++) CollectionAssert.AreEqual(expected[i], actual[i], $"row {i}");

            Directory.Delete(directory, recursive: true);
            causal.SaveAsHuggingFace(directory);
            var gpt = Models.HuggingFace.HuggingFaceImport.Load(directory);
            Assert.AreEqual(causal.Tokenizer.SepId, gpt.Config.EosTokenId);
            var ids = TorchSharp.torch.tensor(causal.Tokenizer.Encode("free money now", maxLength: 16).Ids.Select(i => (long)i).ToArray()).unsqueeze(0);
            using var _ = TorchSharp.torch.no_grad();
            causal.Model.eval();
            Assert.IsTrue(causal.Model.forward(ids).equal(gpt.LanguageModel.forward(ids)).all().item<bool>());
        }
        finally { if (Directory.Exists(directory)) Directory.Delete(directory, recursive: true); }
    }
}
