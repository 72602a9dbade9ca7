using System.Text.Json;
using System.Text.Json.Serialization;
using Pipelines.Models.Checkpoints;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Pipelines.Models.Training;

/// <summary>The loop's own state in a checkpoint, beside the model and optimizer files.</summary>
/// <param name="Step">Optimizer steps done when it was written.</param>
/// <param name="BestLoss">Best validation score so far, lower is better: the loss, or minus the accuracy with <see cref="BestBy.Accuracy"/> (infinity before the first validation).</param>
/// <param name="BestStep">Step of <paramref name="BestLoss"/>.</param>
/// <param name="ValidationsWithoutImprovement">For early stopping.</param>
/// <param name="ConfigJson">The model's architecture, to refuse resuming into a different one.</param>
public sealed record LoopState(int Step, double BestLoss, int BestStep, int ValidationsWithoutImprovement, string ConfigJson);

/// <summary>
/// Checkpoints of a training run in one directory: each is written whole into a new folder
/// (model weights as safetensors, optimizer state, loop state), which is then renamed into place, and only then
/// does the one-line file "latest" name it. A run killed at any moment leaves the previous
/// checkpoint intact and findable.
/// </summary>
public sealed class TrainingCheckpoint(string directory)
{
    private const string Latest = "latest";
    private const string ModelFile = "model.safetensors";
    private const string OptimizerFile = "optimizer.state";
    private const string StateFile = "state.json";
    private const string BestFile = "best.safetensors";
    private const string MastersFile = "masters.safetensors";

    // The best loss is +infinity until the first validation: written as "Infinity", not refused.
    private static readonly JsonSerializerOptions Json = new() { NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals };

    /// <summary>The checkpoint directory.</summary>
    public string Directory { get; } = directory;

    /// <summary>
    /// Creates the directory and writes and deletes a probe file in it, so that a path that is a
    /// file, lies under a file or cannot be written is refused before the first training step,
    /// not at the first checkpoint after hours of training.
    /// </summary>
    /// <exception cref="IOException">The directory cannot hold checkpoints (the message says why).</exception>
    public void EnsureWritable()
    {
        if (File.Exists(Directory))
            throw new IOException($"CheckpointDirectory '{Directory}' is a file, not a directory.");
        try
        {
            System.IO.Directory.CreateDirectory(Directory);
            var probe = Path.Combine(Directory, $".write-probe.{Guid.NewGuid():N}.tmp");
            File.WriteAllText(probe, "");
            File.Delete(probe);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new IOException($"CheckpointDirectory '{Directory}' cannot hold checkpoints: {e.Message}", e);
        }
    }

    /// <summary>
    /// Writes a checkpoint of <paramref name="model"/>, <paramref name="optimizer"/> and the loop state,
    /// and of the float32 master weights when training in mixed precision.
    /// </summary>
    public void Save(nn.Module model, OptimizerHelper optimizer, LoopState state, MixedPrecision? precision = null)
    {
        System.IO.Directory.CreateDirectory(Directory);
        var name = $"step-{state.Step:D8}";
        var staging = Path.Combine(Directory, $".{name}.{Guid.NewGuid():N}.tmp");
        System.IO.Directory.CreateDirectory(staging);
        SafeTensors.SaveModule(model, Path.Combine(staging, ModelFile));
        precision?.SaveMasters(Path.Combine(staging, MastersFile));
        optimizer.save_state_dict(Path.Combine(staging, OptimizerFile));
        File.WriteAllText(Path.Combine(staging, StateFile), JsonSerializer.Serialize(state, Json));
        var final = Path.Combine(Directory, name);
        if (System.IO.Directory.Exists(final)) System.IO.Directory.Delete(final, recursive: true);
        System.IO.Directory.Move(staging, final);
        AtomicFile.WriteAllText(Path.Combine(Directory, Latest), name);
        // Older checkpoints, and staging folders of a run that was killed while writing one, go.
        foreach (var old in System.IO.Directory.GetDirectories(Directory, "step-*").Where(d => Path.GetFileName(d) != name)
                     .Concat(System.IO.Directory.GetDirectories(Directory, ".step-*.tmp")))
            System.IO.Directory.Delete(old, recursive: true);
    }

    /// <summary>Saves the weights of the best validation so far (restored at the end of training): the float32 masters in mixed precision.</summary>
    public void SaveBest(nn.Module model, MixedPrecision? precision = null)
    {
        System.IO.Directory.CreateDirectory(Directory);
        var path = Path.Combine(Directory, BestFile);
        if (precision is null) SafeTensors.SaveModule(model, path);   // atomic: temporary file, then rename
        else precision.SaveMasters(path);
    }

    /// <summary>Loads the best weights into <paramref name="model"/> (and its masters in mixed precision); false when none were saved.</summary>
    public bool TryLoadBest(nn.Module model, MixedPrecision? precision = null)
    {
        var path = Path.Combine(Directory, BestFile);
        if (!File.Exists(path)) return false;
        if (precision is null) SafeTensors.LoadInto(model, path);
        else precision.LoadMasters(path);
        return true;
    }

    /// <summary>
    /// Loads the latest checkpoint into <paramref name="model"/> and <paramref name="optimizer"/> (and the
    /// float32 masters in mixed precision: those saved, or the model's weights for a checkpoint written
    /// without mixed precision); null when there is none.
    /// </summary>
    /// <exception cref="InvalidDataException">The checkpoint is unreadable or was written for another architecture.</exception>
    public LoopState? TryLoad(nn.Module model, OptimizerHelper optimizer, string configJson, MixedPrecision? precision = null)
    {
        var pointer = Path.Combine(Directory, Latest);
        if (!File.Exists(pointer)) return null;
        var folder = Path.Combine(Directory, File.ReadAllText(pointer).Trim());
        var statePath = Path.Combine(folder, StateFile);
        if (!File.Exists(statePath))
            throw new InvalidDataException($"Checkpoint '{folder}' named by '{pointer}' is missing {StateFile}.");
        LoopState state;
        try { state = JsonSerializer.Deserialize<LoopState>(File.ReadAllText(statePath), Json) ?? throw new InvalidDataException("empty"); }
        catch (JsonException e) { throw new InvalidDataException($"Checkpoint state '{statePath}' is not valid JSON: {e.Message}", e); }
        if (state.ConfigJson != configJson)
            throw new InvalidDataException($"Checkpoint '{folder}' was written for a different model (architecture or tokenizer); refusing to resume.");
        SafeTensors.LoadInto(model, Path.Combine(folder, ModelFile));
        var masters = Path.Combine(folder, MastersFile);
        if (precision is not null && File.Exists(masters)) precision.LoadMasters(masters);
        else precision?.TakeModelWeights();
        optimizer.load_state_dict(Path.Combine(folder, OptimizerFile));
        return state;
    }
}
