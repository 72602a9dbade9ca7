using Pipelines.Models.Training;
using static TorchSharp.torch;

namespace Pipelines.Models.Tests.Training;

/// <summary>A checkpoint that is damaged, or was written for another model, is refused on resume with a message that says which.</summary>
[TestClass]
public sealed class CheckpointRefusalTests
{
    private static string WriteCheckpoint(string configJson)
    {
        var directory = Path.Combine(Path.GetTempPath(), $"refusal-{Guid.NewGuid():N}");
        using var scope = NewDisposeScope();
        random.manual_seed(1);
        using var model = new GptLanguageModel(TinyConfigs.Decoder);
        using var optimizer = Optimizers.AdamW(model.parameters(), 1e-3);
        new TrainingCheckpoint(directory).Save(model, optimizer, new LoopState(5, double.PositiveInfinity, 0, 0, configJson));
        return directory;
    }

    private static InvalidDataException Resume(string directory, string configJson)
    {
        using var scope = NewDisposeScope();
        using var model = new GptLanguageModel(TinyConfigs.Decoder);
        using var optimizer = Optimizers.AdamW(model.parameters(), 1e-3);
        return Assert.Throws<InvalidDataException>(() => new TrainingCheckpoint(directory).TryLoad(model, optimizer, configJson));
    }

    private static string Latest(string directory) => Path.Combine(directory, File.ReadAllText(Path.Combine(directory, "latest")).Trim());

    [TestMethod]
    public void AnIntactCheckpointResumesItsStepAndInfiniteBestLoss()
    {
        var directory = WriteCheckpoint("A");
        try
        {
            using var scope = NewDisposeScope();
            using var model = new GptLanguageModel(TinyConfigs.Decoder);
            using var optimizer = Optimizers.AdamW(model.parameters(), 1e-3);
            var state = new TrainingCheckpoint(directory).TryLoad(model, optimizer, "A");
            Assert.AreEqual(5, state!.Step);
            Assert.AreEqual(double.PositiveInfinity, state.BestLoss);
        }
        finally { Directory.Delete(directory, true); }
    }

    [TestMethod]
    public void ACheckpointOfAnotherArchitectureIsRefused()
    {
        var directory = WriteCheckpoint("A");
        try { StringAssert.Contains(Resume(directory, "B").Message, "different model (architecture or tokenizer)"); }
        finally { Directory.Delete(directory, true); }
    }

    [TestMethod]
    public void DamagedStateWeightsOrPointerAreRefusedNamingTheFile()
    {
        foreach (var (damage, expected) in new (Action<string>, string)[]
                 {
                     (d => File.WriteAllText(Path.Combine(Latest(d), "state.json"), "{ not json"), "not valid JSON"),
                     (d => File.Delete(Path.Combine(Latest(d), "state.json")), "missing state.json"),
                     (d => { var f = Path.Combine(Latest(d), "model.safetensors"); File.WriteAllBytes(f, File.ReadAllBytes(f)[..100]); }, "model.safetensors"),
                     (d => File.WriteAllText(Path.Combine(d, "latest"), "step-99999999"), "step-99999999"),
                 })
        {
            var directory = WriteCheckpoint("A");
            try
            {
                damage(directory);
                StringAssert.Contains(Resume(directory, "A").Message, expected);
            }
            finally { Directory.Delete(directory, true); }
        }
    }
}
