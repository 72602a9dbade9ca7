using Pipelines.Models.Checkpoints;
using Pipelines.Models.HuggingFace;
using static Pipelines.Models.Tests.HuggingFace.HuggingFaceFixtures;
using static TorchSharp.torch;

namespace Pipelines.Models.Tests.HuggingFace;

/// <summary>Directories, configs and weights that import and export must refuse, with messages that say what and where.</summary>
[TestClass]
public sealed class HuggingFaceRefusalTests
{
    private static InvalidDataException Refused(string directory) =>
        Assert.ThrowsExactly<InvalidDataException>(() => HuggingFaceImport.Load(directory));

    private static void WithCopy(string fixture, Action<string> test)
    {
        var directory = CopyOf(fixture);
        try { test(directory); }
        finally { Directory.Delete(directory, recursive: true); }
    }

    [TestMethod]
    public void ADirectoryWithOnlyPickleWeightsIsRefusedWithoutReadingThem() => WithCopy("bert", directory =>
    {
        File.Delete(Path.Combine(directory, "model.safetensors"));
        // Not even a valid pickle: the file must never be opened.
        File.WriteAllBytes(Path.Combine(directory, "pytorch_model.bin"), [0x80, 0x02, 0xFF, 0xFF]);
        var e = Refused(directory);
        StringAssert.Contains(e.Message, "pytorch_model.bin");
        StringAssert.Contains(e.Message, "no pickle");
        StringAssert.Contains(e.Message, "arbitrary code");
        StringAssert.Contains(e.Message, "safe_serialization=True");
    });

    [TestMethod]
    public void MissingFilesAreRefusedNamingTheDirectory() => WithCopy("gpt2", directory =>
    {
        File.Delete(Path.Combine(directory, "model.safetensors"));
        StringAssert.Contains(Refused(directory).Message, "has no model.safetensors");
        File.Delete(Path.Combine(directory, "config.json"));
        var e = Refused(directory);
        StringAssert.Contains(e.Message, "config.json");
        StringAssert.Contains(e.Message, directory);
        Assert.ThrowsExactly<DirectoryNotFoundException>(() => HuggingFaceImport.Load(Path.Combine(directory, "absent")));
    });

    [TestMethod]
    [DataRow("{ \"model_type\": \"bert\", ", "not valid JSON")]
    [DataRow("[1, 2]", "JSON object")]
    [DataRow("{ \"hidden_size\": 32 }", "model_type")]
    [DataRow("{ \"model_type\": \"llama\" }", "\"llama\" is not supported")]
    [DataRow("{ \"model_type\": \"bert\", \"hidden_size\": \"big\" }", "\"hidden_size\" must be an integer")]
    [DataRow("{ \"model_type\": \"bert\", \"hidden_size\": 32.5 }", "\"hidden_size\" must be an integer")]
    [DataRow("{ \"model_type\": \"bert\", \"layer_norm_eps\": \"tiny\" }", "\"layer_norm_eps\" must be a number")]
    [DataRow("{ \"model_type\": \"bert\", \"tie_word_embeddings\": 1 }", "must be true or false")]
    [DataRow("{ \"model_type\": \"bert\", \"hidden_size\": 30, \"num_attention_heads\": 4 }", "divisible")]
    [DataRow("{ \"model_type\": \"bert\", \"num_hidden_layers\": -1 }", "Layers must be positive")]
    [DataRow("{ \"model_type\": \"bert\", \"hidden_act\": \"relu\" }", "\"hidden_act\" = \"relu\" is not supported")]
    [DataRow("{ \"model_type\": \"roberta\", \"hidden_act\": \"gelu_new\" }", "exact GELU")]
    [DataRow("{ \"model_type\": \"bert\", \"position_embedding_type\": \"relative_key\" }", "absolute")]
    [DataRow("{ \"model_type\": \"bert\", \"is_decoder\": true }", "is_decoder")]
    [DataRow("{ \"model_type\": \"gpt2\", \"activation_function\": \"swish\" }", "\"activation_function\" = \"swish\"")]
    [DataRow("{ \"model_type\": \"gpt2\", \"scale_attn_by_inverse_layer_idx\": true }", "layer index")]
    [DataRow("{ \"model_type\": \"roberta\", \"max_position_embeddings\": 2 }", "PositionOffset")]
    public void MalformedOrUnsupportedConfigIsRefused(string json, string expected)
    {
        var e = Assert.ThrowsExactly<InvalidDataException>(() => HuggingFaceConfig.Parse(json, "the/config.json"));
        StringAssert.Contains(e.Message, expected);
        StringAssert.Contains(e.Message, "config.json");
    }

    [TestMethod]
    public void AMalformedConfigFileInADirectoryIsRefused() => WithCopy("roberta", directory =>
    {
        File.WriteAllText(Path.Combine(directory, "config.json"), "{ \"model_type\": \"roberta\", \"vocab_size\": null, \"hidden_size\": [32] }");
        var e = Refused(directory);
        StringAssert.Contains(e.Message, "hidden_size");
        StringAssert.Contains(e.Message, Path.Combine(directory, "config.json"));
    });

    [TestMethod]
    public void AShapeThatContradictsTheConfigIsRefusedNamingTheTensor() => WithCopy("bert", directory =>
    {
        var path = Path.Combine(directory, "config.json");
        File.WriteAllText(path, File.ReadAllText(path).Replace("\"intermediate_size\": 64", "\"intermediate_size\": 48"));
        var e = Refused(directory);
        StringAssert.Contains(e.Message, "model.safetensors");
        StringAssert.Contains(e.Message, "bert.encoder.layer.0.intermediate.dense.weight (shape [64, 32] in the file, [48, 32] from config.json)");
    });

    [TestMethod]
    public void AMissingRequiredTensorIsRefusedNamingIt() => WithCopy("gpt2", directory =>
    {
        var path = Path.Combine(directory, "model.safetensors");
        List<KeyValuePair<string, Tensor>> kept;
        using (var file = SafeTensors.Read(path))
            kept = [.. file.Entries.Where(e => e.Name != "transformer.h.1.mlp.c_fc.weight").Select(e => KeyValuePair.Create(e.Name, e.Tensor.clone()))];
        SafeTensors.Save(path, kept);
        var e = Refused(directory);
        StringAssert.Contains(e.Message, "missing (1): transformer.h.1.mlp.c_fc.weight");
        StringAssert.Contains(e.Message, path);
    });

    [TestMethod]
    public void ATiedCopyThatDiffersIsRefusedAndOneThatAgreesIsAccepted() => WithCopy("roberta", directory =>
    {
        var path = Path.Combine(directory, "model.safetensors");
        List<KeyValuePair<string, Tensor>> tensors;
        using (var file = SafeTensors.Read(path))
            tensors = [.. file.Entries.Select(e => KeyValuePair.Create(e.Name, e.Tensor.clone()))];
        var embeddings = tensors.Single(t => t.Key == "roberta.embeddings.word_embeddings.weight").Value;
        var bias = tensors.Single(t => t.Key == "lm_head.bias").Value;

        SafeTensors.Save(path, [.. tensors, new("lm_head.decoder.weight", embeddings), new("lm_head.decoder.bias", bias)]);
        var checkpoint = HuggingFaceImport.Load(directory);
        Assert.IsTrue(checkpoint.Report.IsComplete, "equal tied copies are neither missing nor unused");

        SafeTensors.Save(path, [.. tensors, new("lm_head.decoder.weight", embeddings + 1)]);
        StringAssert.Contains(Refused(directory).Message, "lm_head.decoder.weight (differs from roberta.embeddings.word_embeddings.weight");
    });

    [TestMethod]
    public void ExportRefusesModelsHuggingFaceCannotRepresent()
    {
        using var scope = NewDisposeScope();
        var directory = TempDirectory();
        try
        {
            var gpt = new GptLanguageModel(TinyConfigs.Decoder);
            var e = Assert.ThrowsExactly<ArgumentException>(() => HuggingFaceExport.Save(gpt, TinyConfigs.Decoder, directory, HuggingFaceModelType.Bert));
            StringAssert.Contains(e.Message, "GptLanguageModel cannot be exported as bert");

            var preLn = TinyConfigs.Encoder with { PreLayerNorm = true };
            e = Assert.ThrowsExactly<ArgumentException>(() => HuggingFaceExport.Save(new BertForPreTraining(preLn), preLn, directory, HuggingFaceModelType.Bert));
            StringAssert.Contains(e.Message, "post-LayerNorm");

            e = Assert.ThrowsExactly<ArgumentException>(() =>
                HuggingFaceExport.Save(new BertForPreTraining(TinyConfigs.Encoder), TinyConfigs.Encoder, directory, HuggingFaceModelType.Roberta));
            StringAssert.Contains(e.Message, "PositionOffset");

            e = Assert.ThrowsExactly<ArgumentException>(() =>
                HuggingFaceExport.Save(gpt, TinyConfigs.Decoder with { Layers = 3 }, directory, HuggingFaceModelType.Gpt2));
            StringAssert.Contains(e.Message, "differs");

            Lora.Adapters.Attach(gpt, new Lora.LoraOptions());
            e = Assert.ThrowsExactly<ArgumentException>(() => HuggingFaceExport.Save(gpt, TinyConfigs.Decoder, directory, HuggingFaceModelType.Gpt2));
            StringAssert.Contains(e.Message, "Adapters.Merge");
            Assert.IsEmpty(Directory.EnumerateFiles(directory), "a refused export writes nothing");
        }
        finally { Directory.Delete(directory, recursive: true); }
    }
}
