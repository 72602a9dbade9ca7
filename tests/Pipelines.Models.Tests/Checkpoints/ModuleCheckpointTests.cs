using Pipelines.Models.Checkpoints;
using TorchSharp;
using static TorchSharp.torch;

namespace Pipelines.Models.Tests.Checkpoints;

[TestClass]
public sealed class ModuleCheckpointTests
{
    private static readonly TransformerConfig Tiny = new()
    {
        VocabSize = 53, Layers = 2, Hidden = 16, Heads = 2, FeedForward = 32, MaxPositions = 12,
        Dropout = 0, PreLayerNorm = true, LayerNormEpsilon = 1e-5,
    };

    private static string TempPath() =>
        Path.Combine(Path.GetTempPath(), $"pipelines-{Guid.NewGuid():N}.safetensors");

    private static GptLanguageModel Gpt(int seed, TransformerConfig? config = null)
    {
        random.manual_seed(seed);
        var model = new GptLanguageModel(config ?? Tiny);
        model.eval();
        return model;
    }

    private static byte[] Logits(GptLanguageModel model)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        random.manual_seed(99);
        var ids = randint(0, Tiny.VocabSize, [2, 10]);
        return model.forward(ids).contiguous().bytes.ToArray();
    }

    [TestMethod]
    public void AGptGivesIdenticalLogitsAfterSaveAndLoadIntoAFreshModel()
    {
        using var scope = NewDisposeScope();
        var path = TempPath();
        try
        {
            var trained = Gpt(seed: 1);
            SafeTensors.SaveModule(trained, path, CheckpointMetadata.ForConfig(trained.Config));

            using var file = SafeTensors.Read(path);
            var fresh = Gpt(seed: 2, CheckpointMetadata.ReadConfig(file));
            CollectionAssert.AreNotEqual(Logits(trained), Logits(fresh), "different seeds give different models");
            var report = SafeTensors.LoadInto(fresh, file);

            CollectionAssert.AreEqual(Logits(trained), Logits(fresh), "bit-identical logits");
            Assert.IsEmpty(report.Missing);
            Assert.IsEmpty(report.Unexpected);
            Assert.AreEqual(Tiny, fresh.Config);
        }
        finally { File.Delete(path); }
    }

    // The models of this library tie by reusing one parameter in forward, so their state_dicts
    // hold it once; a module that ties the usual PyTorch way (one parameter under two names)
    // checks how checkpoints treat shared tensors.
    private sealed class TiedModule : nn.Module<Tensor, Tensor>
    {
        private readonly TorchSharp.Modules.Embedding wte;
        private readonly TorchSharp.Modules.Linear lm_head;

        public TiedModule(int seed, bool tie = true) : base(nameof(TiedModule))
        {
            random.manual_seed(seed);
            wte = nn.Embedding(11, 4);
            lm_head = nn.Linear(4, 11, hasBias: false);
            if (tie) lm_head.weight = wte.weight!;
            RegisterComponents();
        }

        public override Tensor forward(Tensor ids) => lm_head.forward(wte.forward(ids));
    }

    private static byte[] Logits(TiedModule model)
    {
        using var _ = no_grad();
        return model.forward(tensor(new long[] { 1, 5, 9 })).bytes.ToArray();
    }

    [TestMethod]
    public void TiedWeightsAreStoredOnceAndStayTiedAfterLoading()
    {
        using var scope = NewDisposeScope();
        var path = TempPath();
        try
        {
            SafeTensors.SaveModule(new TiedModule(seed: 1), path);
            using (var file = SafeTensors.Read(path))
            {
                Assert.IsTrue(file.Contains("wte.weight"));
                Assert.IsFalse(file.Contains("lm_head.weight"), "the tied copy is not written");
                Assert.AreEqual("wte.weight", file.Metadata["lm_head.weight"]);
                Assert.AreEqual("pt", file.Metadata[CheckpointMetadata.FormatKey]);
            }

            var fresh = new TiedModule(seed: 2);
            SafeTensors.LoadInto(fresh, path);
            var state = fresh.state_dict();
            using (no_grad()) state["wte.weight"][3, 2] = 42f;
            Assert.AreEqual(42f, state["lm_head.weight"][3, 2].item<float>(), "still one tensor");
        }
        finally { File.Delete(path); }
    }

    [TestMethod]
    public void AFileHoldingBothTiedNamesLoadsAndDisagreeingCopiesAreRefused()
    {
        using var scope = NewDisposeScope();
        var trained = new TiedModule(seed: 1);
        var stream = new MemoryStream();
        SafeTensors.Save(stream, trained.state_dict()); // every name, the tied one twice
        stream.Position = 0;
        using (var file = SafeTensors.Read(stream))
        {
            Assert.IsTrue(file.Contains("lm_head.weight"));
            var fresh = new TiedModule(seed: 2);
            SafeTensors.LoadInto(fresh, file);
            CollectionAssert.AreEqual(Logits(trained), Logits(fresh));
        }

        var state = trained.state_dict().ToDictionary();
        state["lm_head.weight"] = state["lm_head.weight"] * 2;
        var disagreeing = new MemoryStream();
        SafeTensors.Save(disagreeing, state);
        disagreeing.Position = 0;
        using var bad = SafeTensors.Read(disagreeing);
        var e = Assert.ThrowsExactly<InvalidDataException>(() => SafeTensors.LoadInto(new TiedModule(seed: 2), bad));
        Assert.Contains("lm_head.weight", e.Message);
        Assert.Contains("different values", e.Message);
    }

    [TestMethod]
    public void AnUntiedModelLoadsTheDroppedNameFromTheNameItWasKeptUnder()
    {
        using var scope = NewDisposeScope();
        var stream = new MemoryStream();
        var tied = new TiedModule(seed: 1);
        SafeTensors.SaveModule(tied, stream);
        stream.Position = 0;
        using var file = SafeTensors.Read(stream);

        var untied = new TiedModule(seed: 2, tie: false);
        SafeTensors.LoadInto(untied, file);
        CollectionAssert.AreEqual(Logits(tied), Logits(untied));
    }

    [TestMethod]
    public void AStrictLoadListsMissingUnexpectedAndMismatchedNamesAndChangesNothing()
    {
        using var scope = NewDisposeScope();
        var state = Gpt(seed: 1).state_dict().ToDictionary();
        state.Remove("transformer.ln_f.bias");
        state["extra.weight"] = ones(3);
        state["transformer.wpe.weight"] = zeros(5, 16);
        state["transformer.h.0.ln_1.weight"] = state["transformer.h.0.ln_1.weight"].to_type(ScalarType.Float16);
        var stream = new MemoryStream();
        SafeTensors.Save(stream, state);
        stream.Position = 0;
        using var file = SafeTensors.Read(stream);

        var model = Gpt(seed: 2);
        var before = Logits(model);
        var e = Assert.ThrowsExactly<InvalidDataException>(() => SafeTensors.LoadInto(model, file));
        Assert.Contains("GptLanguageModel", e.Message);
        Assert.Contains("missing (1): transformer.ln_f.bias", e.Message);
        Assert.Contains("unexpected (1): extra.weight", e.Message);
        Assert.Contains("transformer.wpe.weight (file F32 [5, 16], module F32 [12, 16])", e.Message);
        Assert.Contains("transformer.h.0.ln_1.weight (file F16 [16], module F32 [16])", e.Message);
        CollectionAssert.AreEqual(before, Logits(model), "a refused load changes nothing");
    }

    [TestMethod]
    public void ANonStrictLoadReportsMissingAndUnexpectedNames()
    {
        using var scope = NewDisposeScope();
        var trained = Gpt(seed: 1);
        var state = trained.state_dict().ToDictionary();
        state.Remove("transformer.ln_f.bias");
        state["extra.weight"] = ones(3);
        var stream = new MemoryStream();
        SafeTensors.Save(stream, state);
        stream.Position = 0;
        using var file = SafeTensors.Read(stream);

        var model = Gpt(seed: 2);
        var report = SafeTensors.LoadInto(model, file, strict: false);
        CollectionAssert.AreEqual(new[] { "transformer.ln_f.bias" }, report.Missing.ToArray());
        CollectionAssert.AreEqual(new[] { "extra.weight" }, report.Unexpected.ToArray());
        Assert.IsTrue(model.state_dict()["transformer.h.1.mlp.c_fc.weight"].equal(trained.state_dict()["transformer.h.1.mlp.c_fc.weight"]).all().item<bool>());
    }

    [TestMethod]
    public void BuffersAndIntegerStateAreSavedAndLoaded()
    {
        using var scope = NewDisposeScope();
        var trained = nn.BatchNorm1d(4);
        trained.train();
        trained.forward(randn(8, 4) * 3 + 1); // moves running_mean / running_var, counts one batch
        var path = TempPath();
        try
        {
            SafeTensors.SaveModule(trained, path);
            var fresh = nn.BatchNorm1d(4);
            SafeTensors.LoadInto(fresh, path);
            foreach (var (name, value) in trained.state_dict())
            {
                var loaded = fresh.state_dict()[name];
                Assert.AreEqual(value.dtype, loaded.dtype, name);
                Assert.IsTrue(value.equal(loaded).all().item<bool>(), name);
            }
            Assert.AreEqual(1L, fresh.state_dict()["num_batches_tracked"].item<long>());
        }
        finally { File.Delete(path); }
    }

    [TestMethod]
    public void TheConfigIsStoredInTheMetadataAndCheckedWhenRead()
    {
        using var scope = NewDisposeScope();
        var stream = new MemoryStream();
        SafeTensors.Save(stream, [new("w", ones(1))], CheckpointMetadata.ForConfig(Tiny));
        stream.Position = 0;
        using (var file = SafeTensors.Read(stream))
            Assert.AreEqual(Tiny, CheckpointMetadata.ReadConfig(file));

        foreach (var metadata in new[] { new Dictionary<string, string>(), new() { [CheckpointMetadata.ConfigKey] = "{\"Heads\": 3}" }, new() { [CheckpointMetadata.ConfigKey] = "not json" } })
        {
            var bad = new MemoryStream();
            SafeTensors.Save(bad, [new("w", ones(1))], metadata);
            bad.Position = 0;
            using var file = SafeTensors.Read(bad);
            var e = Assert.ThrowsExactly<InvalidDataException>(() => CheckpointMetadata.ReadConfig(file));
            Assert.Contains(CheckpointMetadata.ConfigKey, e.Message);
        }
    }
}
