using Pipelines.Models.Checkpoints;
using Pipelines.Models.HuggingFace;
using static Pipelines.Models.Tests.HuggingFace.HuggingFaceFixtures;
using static TorchSharp.torch;

namespace Pipelines.Models.Tests.HuggingFace;

/// <summary>Import and export checked against checkpoints and outputs written by Hugging Face transformers itself.</summary>
[TestClass]
public sealed class HuggingFaceImportTests
{
    public TestContext TestContext { get; set; } = null!;

    [TestMethod]
    [DataRow("bert")]
    [DataRow("roberta")]
    [DataRow("gpt2")]
    public void ImportedFixtureReproducesTransformersOutputsAtRealTokens(string name)
    {
        using var scope = NewDisposeScope();
        var reference = ReadReference(name);
        var checkpoint = Load(name);
        var (hidden, logits) = Run(checkpoint.Model, reference);

        var hiddenError = MaxDifferenceAtRealTokens(hidden, reference.LastHiddenState, reference);
        var logitsError = MaxDifferenceAtRealTokens(logits, reference.Logits, reference);
        TestContext.WriteLine($"{name}: max |ours - transformers| hidden {hiddenError:E2}, logits {logitsError:E2}");
        Assert.IsLessThan(1e-4, hiddenError, "last hidden state");
        Assert.IsLessThan(1e-4, logitsError, "logits");
        Assert.IsTrue(checkpoint.Report.IsComplete, $"missing {string.Join(", ", checkpoint.Report.Missing)}; unused {string.Join(", ", checkpoint.Report.Unused)}");
        Assert.IsFalse(checkpoint.Model.training, "imported models are in evaluation mode, as from_pretrained leaves them");
    }

    // The fixtures' weights are small (std 0.02), so the two GELUs differ by less than 1e-4 in their
    // outputs: this checks that the activation config.json names is the one that runs, by showing the
    // other one lands measurably further from transformers' outputs.
    [TestMethod]
    [DataRow("bert")]
    [DataRow("gpt2")]
    public void TheOtherGeluVariantIsMeasurablyFurtherFromTransformers(string name)
    {
        using var scope = NewDisposeScope();
        var reference = ReadReference(name);
        var checkpoint = Load(name);
        var t = checkpoint.Transformer;
        var swapped = t with { Activation = t.Activation == Activation.Gelu ? Activation.GeluTanh : Activation.Gelu };
        nn.Module other = checkpoint.Model is GptLanguageModel ? new GptLanguageModel(swapped) : new BertForPreTraining(swapped);
        var weights = other.state_dict();
        using (no_grad())
            foreach (var (key, value) in checkpoint.Model.state_dict()) weights[key].copy_(value);
        other.eval();

        double Error(nn.Module model)
        {
            var (hidden, logits) = Run(model, reference);
            return Math.Max(MaxDifferenceAtRealTokens(hidden, reference.LastHiddenState, reference),
                            MaxDifferenceAtRealTokens(logits, reference.Logits, reference));
        }
        var (right, wrong) = (Error(checkpoint.Model), Error(other));
        TestContext.WriteLine($"{name}: {t.Activation} {right:E2}, {swapped.Activation} {wrong:E2}");
        Assert.IsLessThan(wrong, 4 * right);
    }

    [TestMethod]
    [DataRow("bert")]
    [DataRow("roberta")]
    [DataRow("gpt2")]
    public void ExportThenImportGivesBitIdenticalOutputs(string name)
    {
        using var scope = NewDisposeScope();
        var reference = ReadReference(name);
        var original = Load(name);
        var directory = TempDirectory();
        try
        {
            HuggingFaceExport.Save(original.Model, original.Config, directory, original.Tokenizer);
            var copy = HuggingFaceImport.Load(directory);

            var (hidden, logits) = Run(original.Model, reference);
            var (hidden2, logits2) = Run(copy.Model, reference);
            CollectionAssert.AreEqual(Bytes(hidden), Bytes(hidden2));
            CollectionAssert.AreEqual(Bytes(logits), Bytes(logits2));
            Assert.AreEqual(original.Config, copy.Config);
            Assert.IsFalse(copy.Tokenizer.IsEmpty);
            CollectionAssert.AreEqual(File.ReadAllBytes(original.Tokenizer.Vocabulary!), File.ReadAllBytes(copy.Tokenizer.Vocabulary!));
        }
        finally { Directory.Delete(directory, recursive: true); }
    }

    [TestMethod]
    [DataRow("bert")]
    [DataRow("roberta")]
    [DataRow("gpt2")]
    public void ExportOfAnImportedFixtureWritesTheOriginalTensors(string name)
    {
        using var scope = NewDisposeScope();
        var checkpoint = Load(name);
        var directory = TempDirectory();
        try
        {
            HuggingFaceExport.Save(checkpoint.Model, checkpoint.Config, directory);
            using var original = SafeTensors.Read(Path.Combine(FixtureDirectory(name), "model.safetensors"));
            using var exported = SafeTensors.Read(Path.Combine(directory, "model.safetensors"));

            // transformers 5 writes tied weights once too, so the names match exactly.
            CollectionAssert.AreEquivalent(original.Names.ToList(), exported.Names.ToList());
            foreach (var entry in original.Entries)
            {
                CollectionAssert.AreEqual(entry.Shape.ToList(), exported[entry.Name].Shape.ToList(), entry.Name);
                CollectionAssert.AreEqual(Bytes(entry.Tensor), Bytes(exported[entry.Name].Tensor), entry.Name);
            }
            Assert.AreEqual("pt", exported.Metadata["format"]);
        }
        finally { Directory.Delete(directory, recursive: true); }
    }

    [TestMethod]
    public void ConfigMapsEachModelTypesFields()
    {
        var bert = Load("bert");
        Assert.AreEqual(new TransformerConfig
        {
            VocabSize = 72, Hidden = 32, Layers = 2, Heads = 4, FeedForward = 64, MaxPositions = 40, TypeVocabSize = 2,
            Dropout = 0, PreLayerNorm = false, LayerNormEpsilon = 1e-12, InitRange = 0.02, TieEmbeddings = true,
            PositionOffset = 0, Activation = Activation.Gelu,
        }, bert.Transformer);

        var roberta = Load("roberta").Transformer;
        Assert.AreEqual(2, roberta.PositionOffset, "pad_token_id 1 + 1");
        Assert.AreEqual(42, roberta.MaxPositions);
        Assert.AreEqual(40, roberta.MaxSequenceLength);
        Assert.AreEqual(1, roberta.TypeVocabSize);

        var gpt2 = Load("gpt2");
        Assert.AreEqual(128, gpt2.Transformer.FeedForward, "n_inner null means 4 x n_embd");
        Assert.IsTrue(gpt2.Transformer.PreLayerNorm);
        Assert.AreEqual(1e-5, gpt2.Transformer.LayerNormEpsilon);
        Assert.AreEqual(Activation.GeluTanh, gpt2.Transformer.Activation);
        Assert.AreEqual(2, gpt2.Config.EosTokenId);
        Assert.IsNotNull(gpt2.Tokenizer.Merges);
        Assert.AreEqual("vocab.txt", Path.GetFileName(bert.Tokenizer.Vocabulary));
    }

    [TestMethod]
    public void RobertaPositionsCountRealTokensSoLeftAndRightPaddingAgree()
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var model = Load("roberta").PreTrainingModel;
        long[] real = [0, 284, 280, 225, 85, 2];
        var right = tensor(new long[,] { { 0, 284, 280, 225, 85, 2, 1, 1 } });
        var left = tensor(new long[,] { { 1, 1, 0, 284, 280, 225, 85, 2 } });
        var rightMask = tensor(new long[,] { { 1, 1, 1, 1, 1, 1, 0, 0 } });
        var leftMask = tensor(new long[,] { { 0, 0, 1, 1, 1, 1, 1, 1 } });

        var fromRight = model.Bert.Forward(right, rightMask)[.., ..real.Length];
        var fromLeft = model.Bert.Forward(left, leftMask)[.., 2..];
        var alone = model.Bert.Forward(tensor(real).unsqueeze(0));
        Assert.IsLessThan(1e-5, (fromRight - alone).abs().max().item<float>());
        Assert.IsLessThan(1e-5, (fromLeft - alone).abs().max().item<float>());
    }

    [TestMethod]
    public void TaskModelsStartFromTheCheckpointsEncoder()
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var checkpoint = Load("bert");
        var reference = ReadReference("bert");
        var classifier = checkpoint.CreateSequenceClassifier(labels: 3, Pooling.Mean);
        var tagger = checkpoint.CreateTokenClassifier(labels: 5);
        classifier.eval();
        tagger.eval();

        var expected = Bytes(checkpoint.PreTrainingModel.Bert.Forward(reference.Ids(), reference.Mask()));
        CollectionAssert.AreEqual(expected, Bytes(classifier.Bert.Forward(reference.Ids(), reference.Mask())));
        CollectionAssert.AreEqual(expected, Bytes(tagger.Bert.Forward(reference.Ids(), reference.Mask())));
        Assert.AreEqual(3L, classifier.Labels);

        // The fixture (BertForMaskedLM) has no pooler: a first-token classifier keeps a fresh one and says so.
        Assert.IsFalse(checkpoint.HasPooler);
        var report = checkpoint.LoadEncoderInto(new BertModel(checkpoint.Transformer, addPooler: true));
        CollectionAssert.AreEquivalent(new[] { "pooler.dense.weight", "pooler.dense.bias" }, report.Missing.ToList());
    }

    [TestMethod]
    public void LoadingTheEncoderIntoADifferentArchitectureIsRefused()
    {
        using var scope = NewDisposeScope();
        var checkpoint = Load("bert");
        var e = Assert.ThrowsExactly<ArgumentException>(() =>
            checkpoint.LoadEncoderInto(new BertModel(checkpoint.Transformer with { Layers = 1 })));
        StringAssert.Contains(e.Message, "Layers");
        Assert.ThrowsExactly<InvalidOperationException>(() => Load("gpt2").PreTrainingModel);
    }

    [TestMethod]
    public void ABaseModelFileWithPoolerAndLegacyNamesLoadsAndReportsWhatItDidNotUse()
    {
        using var scope = NewDisposeScope();
        var directory = CopyOf("bert");
        try
        {
            // A BertModel file: no "bert." prefix, TensorFlow-era LayerNorm.gamma/beta, a pooler,
            // the position_ids buffer, no masked-LM head.
            var weights = Path.Combine(directory, "model.safetensors");
            var tensors = new List<KeyValuePair<string, Tensor>>();
            using (var file = SafeTensors.Read(weights))
                foreach (var e in file.Entries.Where(e => e.Name.StartsWith("bert.", StringComparison.Ordinal)))
                    tensors.Add(new(e.Name["bert.".Length..].Replace("LayerNorm.weight", "LayerNorm.gamma").Replace("LayerNorm.bias", "LayerNorm.beta"), e.Tensor.clone()));
            tensors.Add(new("pooler.dense.weight", randn(32, 32)));
            tensors.Add(new("pooler.dense.bias", randn(32)));
            tensors.Add(new("embeddings.position_ids", arange(40).unsqueeze(0)));
            SafeTensors.Save(weights, tensors);

            var checkpoint = HuggingFaceImport.Load(directory);
            Assert.IsTrue(checkpoint.HasPooler);
            Assert.Contains("cls.predictions.bias", checkpoint.Report.Missing);
            CollectionAssert.AreEqual(new[] { "embeddings.position_ids" }, checkpoint.Report.Ignored.ToList());
            Assert.IsEmpty(checkpoint.Report.Unused);

            var tagger = checkpoint.CreateTokenClassifier(labels: 2);                          // no pooler
            var report = checkpoint.LoadEncoderInto(tagger.Bert);
            CollectionAssert.AreEquivalent(new[] { "bert.pooler.dense.weight", "bert.pooler.dense.bias" }, report.Unused.ToList());
            var classifier = checkpoint.CreateSequenceClassifier(labels: 2);                   // first-token pooler from the file
            CollectionAssert.AreEqual(Bytes(tensors.Single(t => t.Key == "pooler.dense.weight").Value),
                Bytes(classifier.Bert.Pooler!.parameters().First()));
        }
        finally { Directory.Delete(directory, recursive: true); }
    }
}
