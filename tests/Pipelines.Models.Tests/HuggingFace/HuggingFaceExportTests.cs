using Pipelines.Models.Checkpoints;
using Pipelines.Models.HuggingFace;
using Pipelines.Models.Lora;
using static Pipelines.Models.Tests.HuggingFace.HuggingFaceFixtures;
using static TorchSharp.torch;

namespace Pipelines.Models.Tests.HuggingFace;

/// <summary>Exporting this library's own models (not imported ones) and reading them back.</summary>
[TestClass]
public sealed class HuggingFaceExportTests
{
    [TestMethod]
    public void AnUntiedGptWithExactGeluRoundTripsWithConv1DWeightsTransposed() => InTemp(directory =>
    {
        using var scope = NewDisposeScope();
        random.manual_seed(5);
        var config = TinyConfigs.Decoder with { TieEmbeddings = false, Activation = Activation.Gelu };
        var model = new GptLanguageModel(config);
        model.eval();
        HuggingFaceExport.Save(model, config, directory, HuggingFaceModelType.Gpt2);

        var json = ConfigJson(directory);
        Assert.AreEqual("GPT2LMHeadModel", json.GetProperty("architectures")[0].GetString());
        Assert.AreEqual("gelu", json.GetProperty("activation_function").GetString());
        Assert.AreEqual(64, json.GetProperty("n_inner").GetInt32(), "FeedForward 64 is not 4 x 32, so n_inner is written");
        Assert.IsFalse(json.GetProperty("tie_word_embeddings").GetBoolean());
        using (var file = SafeTensors.Read(Path.Combine(directory, "model.safetensors")))
        {
            CollectionAssert.AreEqual(new long[] { 32, 96 }, file["transformer.h.0.attn.c_attn.weight"].Shape.ToList(), "Conv1D is (in, out)");
            CollectionAssert.AreEqual(new long[] { 97, 32 }, file["lm_head.weight"].Shape.ToList(), "lm_head is nn.Linear (out, in)");
        }

        var copy = HuggingFaceImport.Load(directory).LanguageModel;
        Assert.AreEqual(config with { TypeVocabSize = 0, InitRange = 0.02 }, copy.Config with { InitRange = 0.02 });
        var ids = randint(0, config.VocabSize, [2, 9]);
        using var _ = no_grad();
        CollectionAssert.AreEqual(Bytes(model.forward(ids)), Bytes(copy.forward(ids)));
    });

    [TestMethod]
    public void ABertWithTheSentencePairHeadExportsAsBertForPreTraining() => InTemp(directory =>
    {
        using var scope = NewDisposeScope();
        var model = new BertForPreTraining(TinyConfigs.Encoder, sentencePair: true);
        model.eval();
        HuggingFaceExport.Save(model, TinyConfigs.Encoder, directory, HuggingFaceModelType.Bert);
        Assert.AreEqual("BertForPreTraining", ConfigJson(directory).GetProperty("architectures")[0].GetString());

        var checkpoint = HuggingFaceImport.Load(directory);
        Assert.IsTrue(checkpoint.PreTrainingModel.HasSentencePairHead);
        Assert.IsTrue(checkpoint.Report.IsComplete);
        var ids = randint(0, TinyConfigs.Encoder.VocabSize, [2, 7]);
        using var _ = no_grad();
        var (a, b) = (model.Forward(ids), checkpoint.PreTrainingModel.Forward(ids));
        CollectionAssert.AreEqual(Bytes(a.TokenLogits), Bytes(b.TokenLogits));
        CollectionAssert.AreEqual(Bytes(a.PairLogits!), Bytes(b.PairLogits!));
    });

    [TestMethod]
    public void AFineTunedEncoderExportsAsABaseModelWithoutPrefix() => InTemp(directory =>
    {
        using var scope = NewDisposeScope();
        var source = Load("roberta");
        var classifier = source.CreateSequenceClassifier(labels: 2);     // gets a fresh pooler
        classifier.eval();
        HuggingFaceExport.Save(classifier.Bert, source.Config, directory, source.Tokenizer);
        Assert.AreEqual("RobertaModel", ConfigJson(directory).GetProperty("architectures")[0].GetString());
        using (var file = SafeTensors.Read(Path.Combine(directory, "model.safetensors")))
            Assert.IsTrue(file.Names.All(n => n.StartsWith("embeddings.") || n.StartsWith("encoder.") || n.StartsWith("pooler.")));

        var copy = HuggingFaceImport.Load(directory);
        Assert.IsTrue(copy.HasPooler);
        Assert.IsTrue(copy.Report.Missing.All(n => n.StartsWith("cls.predictions.")), "only the masked-LM head is missing");
        var reference = ReadReference("roberta");
        using var _ = no_grad();
        CollectionAssert.AreEqual(Bytes(classifier.Bert.Forward(reference.Ids(), reference.Mask())),
            Bytes(copy.PreTrainingModel.Bert.Forward(reference.Ids(), reference.Mask())));
    });

    [TestMethod]
    public void MergedLoraAdaptersAreExportedAsPlainWeights() => InTemp(directory =>
    {
        using var scope = NewDisposeScope();
        random.manual_seed(6);
        var model = new GptLanguageModel(TinyConfigs.Decoder);
        Adapters.Attach(model, new LoraOptions { Rank = 2 });
        using (no_grad())
            foreach (var linear in model.modules().OfType<LoraLinear>().Where(l => l.HasAdapter)) linear.LoraB!.normal_(0, 0.1);
        Adapters.Merge(model);
        model.eval();
        HuggingFaceExport.Save(model, TinyConfigs.Decoder, directory, HuggingFaceModelType.Gpt2);

        var copy = HuggingFaceImport.Load(directory);
        Assert.IsTrue(copy.Report.IsComplete, "no lora_A / lora_B in the file");
        var ids = randint(0, TinyConfigs.Decoder.VocabSize, [1, 8]);
        using var _ = no_grad();
        Assert.IsTrue(model.forward(ids).allclose(copy.LanguageModel.forward(ids), rtol: 0, atol: 1e-5));
    });

    [TestMethod]
    public void BottleneckAdaptersWhichTransformersCannotHoldAreRefusedByName() => InTemp(directory =>
    {
        var config = TinyConfigs.Encoder with { AdapterSize = 4 };
        using var model = new BertForPreTraining(config);
        var error = Assert.Throws<ArgumentException>(() => HuggingFaceExport.Save(model, config, directory, HuggingFaceModelType.Bert));
        StringAssert.Contains(error.Message, "bottleneck adapters");
        Assert.IsFalse(File.Exists(Path.Combine(directory, "model.safetensors")));
    });
}
