using Pipelines.Models.Checkpoints;
using Pipelines.Models.HuggingFace;
using Pipelines.Models.Lora;
using static Pipelines.Models.Tests.HuggingFace.HuggingFaceFixtures;
using static TorchSharp.torch;

namespace Pipelines.Models.Tests.HuggingFace;

/// <summary>
/// Task models (sequence classifier, token classifier, question answering) out to transformers' task classes
/// with their heads and label names, and back in whole: the re-imported model computes the same outputs.
/// </summary>
[TestClass]
public sealed class HuggingFaceTaskModelTests
{
    private static string[] Names(string directory)
    {
        using var file = SafeTensors.Read(Path.Combine(directory, "model.safetensors"));
        return [.. file.Names];
    }

    // A trained-looking head: random values everywhere, so a swapped or skipped tensor shows.
    private static void Randomise(nn.Module model)
    {
        using var _ = no_grad();
        foreach (var p in model.parameters()) p.normal_(0, 0.2);
    }

    [TestMethod]
    [DataRow("bert")]
    [DataRow("roberta")]
    public void ASequenceClassifierRoundTripsWithItsLabelNamesAndTheSameLogits(string fixture) => InTemp(directory =>
    {
        using var scope = NewDisposeScope();
        random.manual_seed(3);
        var source = Load(fixture);
        var classifier = source.CreateSequenceClassifier(labels: 3);
        Randomise(classifier);
        classifier.eval();
        string[] labels = ["negative", "neutral", "positive"];
        HuggingFaceExport.Save(classifier, source.Config with { Labels = labels }, directory, source.Tokenizer);

        var json = ConfigJson(directory);
        var family = fixture == "bert" ? "Bert" : "Roberta";
        Assert.AreEqual($"{family}ForSequenceClassification", json.GetProperty("architectures")[0].GetString());
        Assert.AreEqual("neutral", json.GetProperty("id2label").GetProperty("1").GetString());
        Assert.AreEqual(2, json.GetProperty("label2id").GetProperty("positive").GetInt32());
        var names = Names(directory);
        if (fixture == "bert")
            CollectionAssert.IsSubsetOf(new[] { "bert.pooler.dense.weight", "classifier.weight", "classifier.bias" }, names);
        else
        {
            // transformers' RoBERTa head: classifier.dense (our pooler) then classifier.out_proj; no pooler in the encoder.
            CollectionAssert.IsSubsetOf(new[] { "classifier.dense.weight", "classifier.out_proj.weight", "classifier.out_proj.bias" }, names);
            Assert.IsFalse(names.Any(n => n.Contains("pooler")), string.Join(", ", names.Where(n => n.Contains("pooler"))));
        }
        Assert.IsTrue(names.All(n => n.StartsWith(fixture + ".") || n.StartsWith("classifier.")), string.Join(", ", names));

        var copy = HuggingFaceImport.LoadSequenceClassifier(directory);
        CollectionAssert.AreEqual(labels, copy.Labels.ToArray());
        Assert.IsTrue(copy.Report.IsComplete, string.Join(", ", copy.Report.Unused));
        var reference = ReadReference(fixture);
        using var _ = no_grad();
        CollectionAssert.AreEqual(Bytes(classifier.Forward(reference.Ids(), reference.Mask())),
            Bytes(copy.Model.Forward(reference.Ids(), reference.Mask())));
    });

    [TestMethod]
    [DataRow("bert")]
    [DataRow("roberta")]
    public void ATokenClassifierRoundTripsWithItsTagsAndTheSameLogits(string fixture) => InTemp(directory =>
    {
        using var scope = NewDisposeScope();
        random.manual_seed(4);
        var source = Load(fixture);
        var tagger = source.CreateTokenClassifier(labels: 5);
        Randomise(tagger);
        tagger.eval();
        string[] tags = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"];
        HuggingFaceExport.Save(tagger, source.Config with { Labels = tags }, directory, source.Tokenizer);

        var json = ConfigJson(directory);
        Assert.AreEqual((fixture == "bert" ? "Bert" : "Roberta") + "ForTokenClassification", json.GetProperty("architectures")[0].GetString());
        Assert.AreEqual("B-LOC", json.GetProperty("id2label").GetProperty("3").GetString());
        var names = Names(directory);
        CollectionAssert.IsSubsetOf(new[] { "classifier.weight", "classifier.bias" }, names);
        Assert.IsFalse(names.Any(n => n.Contains("pooler")), "transformers' token classifiers have no pooler");

        var copy = HuggingFaceImport.LoadTokenClassifier(directory);
        CollectionAssert.AreEqual(tags, copy.Labels.ToArray());
        var reference = ReadReference(fixture);
        using var _ = no_grad();
        CollectionAssert.AreEqual(Bytes(tagger.Forward(reference.Ids(), reference.Mask())),
            Bytes(copy.Model.Forward(reference.Ids(), reference.Mask())));
        // The tagger's file is also a start for fine-tuning: its encoder loads, the head is reported unused.
        var start = HuggingFaceImport.Load(directory);
        CollectionAssert.AreEquivalent(new[] { "classifier.weight", "classifier.bias" }, start.Report.Unused.ToArray());
    });

    [TestMethod]
    public void ARegressorExportsWithOneLabelAsRegressionAndReloadsExactly() => InTemp(directory =>
    {
        using var scope = NewDisposeScope();
        random.manual_seed(5);
        var regressor = new BertForSequenceClassification(TinyConfigs.Encoder, labels: 1);
        Randomise(regressor);
        regressor.eval();
        HuggingFaceExport.Save(regressor, TinyConfigs.Encoder, directory, HuggingFaceModelType.Bert);
        var json = ConfigJson(directory);
        Assert.AreEqual("regression", json.GetProperty("problem_type").GetString());
        Assert.AreEqual("LABEL_0", json.GetProperty("id2label").GetProperty("0").GetString());
        var copy = HuggingFaceImport.LoadSequenceClassifier(directory);
        var ids = randint(0, TinyConfigs.Encoder.VocabSize, [2, 7]);
        using var _ = no_grad();
        CollectionAssert.AreEqual(Bytes(regressor.Forward(ids)), Bytes(copy.Model.Forward(ids)));
    });

    [TestMethod]
    public void AQuestionAnsweringModelExportsItsSpanHead() => InTemp(directory =>
    {
        using var scope = NewDisposeScope();
        var reader = new BertForQuestionAnswering(TinyConfigs.Encoder);
        HuggingFaceExport.Save(reader, TinyConfigs.Encoder, directory, HuggingFaceModelType.Bert);
        Assert.AreEqual("BertForQuestionAnswering", ConfigJson(directory).GetProperty("architectures")[0].GetString());
        Assert.IsFalse(ConfigJson(directory).TryGetProperty("id2label", out _), "start/end logits are not labels");
        CollectionAssert.IsSubsetOf(new[] { "qa_outputs.weight", "qa_outputs.bias" }, Names(directory));
        using var file = SafeTensors.Read(Path.Combine(directory, "model.safetensors"));
        CollectionAssert.AreEqual(new long[] { 2, 32 }, file["qa_outputs.weight"].Shape.ToList());
    });

    [TestMethod]
    public void MergedLoraInAClassifierIsExportedAsItsMergedWeights() => InTemp(directory =>
    {
        using var scope = NewDisposeScope();
        random.manual_seed(6);
        var classifier = new BertForSequenceClassification(TinyConfigs.Encoder, labels: 2);
        Adapters.Attach(classifier, new LoraOptions { Rank = 2 }, "classifier");
        using (no_grad())
            foreach (var linear in classifier.modules().OfType<LoraLinear>().Where(l => l.HasAdapter)) linear.LoraB!.normal_(0, 0.1);
        classifier.eval();
        var ids = randint(0, TinyConfigs.Encoder.VocabSize, [2, 6]);
        using var _ = no_grad();
        var expected = classifier.Forward(ids);
        Assert.Throws<ArgumentException>(() => HuggingFaceExport.Save(classifier, TinyConfigs.Encoder, directory, HuggingFaceModelType.Bert));
        Adapters.Merge(classifier);
        HuggingFaceExport.Save(classifier, TinyConfigs.Encoder, directory, HuggingFaceModelType.Bert);
        Assert.IsFalse(Names(directory).Any(n => n.Contains("lora")));
        // Merging rounds W + BA once, so the match is to float precision, not bit for bit.
        Assert.IsTrue(expected.allclose(HuggingFaceImport.LoadSequenceClassifier(directory).Model.Forward(ids), rtol: 0, atol: 1e-5));
    });

    [TestMethod]
    public void WhatTransformersCannotComputeTheSameIsRefusedByName() => InTemp(directory =>
    {
        using var scope = NewDisposeScope();
        var config = TinyConfigs.Encoder;
        var mean = new BertForSequenceClassification(config, labels: 2, Pooling.Mean);
        StringAssert.Contains(Assert.Throws<ArgumentException>(() => HuggingFaceExport.Save(mean, config, directory, HuggingFaceModelType.Bert)).Message,
            "Pooling.FirstToken");
        var crf = new BertForTokenClassification(config, 3, new ConditionalRandomField(3));
        StringAssert.Contains(Assert.Throws<ArgumentException>(() => HuggingFaceExport.Save(crf, config, directory, HuggingFaceModelType.Bert)).Message,
            "CRF");
        var classifier = new BertForSequenceClassification(config, labels: 2);
        var wrongCount = new HuggingFaceConfig { ModelType = HuggingFaceModelType.Bert, Transformer = config, Labels = ["a", "b", "c"] };
        StringAssert.Contains(Assert.Throws<ArgumentException>(() => HuggingFaceExport.Save(classifier, wrongCount, directory)).Message, "3 labels");
        var twice = wrongCount with { Labels = ["a", "a"] };
        StringAssert.Contains(Assert.Throws<ArgumentException>(() => HuggingFaceExport.Save(classifier, twice, directory)).Message, "twice");
        Assert.IsFalse(File.Exists(Path.Combine(directory, "config.json")), "nothing written");
    });

    [TestMethod]
    public void LoadingAsAClassifierWhatIsNotOneIsRefusedByName() => InTemp(directory =>
    {
        using var scope = NewDisposeScope();
        var encoder = new BertForPreTraining(TinyConfigs.Encoder);
        HuggingFaceExport.Save(encoder, TinyConfigs.Encoder, directory, HuggingFaceModelType.Bert);
        StringAssert.Contains(Assert.Throws<InvalidDataException>(() => HuggingFaceImport.LoadSequenceClassifier(directory)).Message,
            "holds a BertForMaskedLM, not a BertForSequenceClassification");
        var tagger = new BertForTokenClassification(TinyConfigs.Encoder, 3);
        HuggingFaceExport.Save(tagger, TinyConfigs.Encoder, directory, HuggingFaceModelType.Bert);
        Assert.Throws<InvalidDataException>(() => HuggingFaceImport.LoadSequenceClassifier(directory));
        var path = Path.Combine(directory, "config.json");
        File.WriteAllText(path, File.ReadAllText(path).Replace("\"LABEL_2\"", "\"LABEL_1\""));
        StringAssert.Contains(Assert.Throws<InvalidDataException>(() => HuggingFaceImport.LoadTokenClassifier(directory)).Message, "twice");
        var classifier = new BertForSequenceClassification(TinyConfigs.Encoder, labels: 2);
        HuggingFaceExport.Save(classifier, TinyConfigs.Encoder, directory, HuggingFaceModelType.Bert);
        File.WriteAllText(path, File.ReadAllText(path).Replace("\"model_type\"", "\"problem_type\": \"multi_label_classification\", \"model_type\""));
        StringAssert.Contains(Assert.Throws<InvalidDataException>(() => HuggingFaceImport.LoadSequenceClassifier(directory)).Message, "multi-label");
    });
}
