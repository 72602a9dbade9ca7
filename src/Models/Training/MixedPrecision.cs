using Pipelines.Models.Checkpoints;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Pipelines.Models.Training;

/// <summary>
/// bf16 mixed precision without autocast (TorchSharp 0.107 has none): the model computes in
/// bfloat16 while the optimizer updates float32 master copies of its trainable parameters.
/// bf16 keeps float32's exponent range, so no loss scaling is needed; but with 8 mantissa bits an
/// update smaller than 1/256 of a weight would round away in a bf16 weight, which is why the master
/// copies exist. A step: forward and loss (cast the logits to float32 before the loss), backward,
/// <see cref="CopyGradientsToMaster"/>, clip and step the optimizer built over
/// <see cref="MasterParameters"/>, <see cref="CopyMasterToModel"/>. The masters are the weights of
/// record: checkpoints and best-weights copies hold them (<see cref="Masters"/>), not the rounded
/// bf16 model, so a resumed or restored run continues from exactly the float32 weights it had.
/// </summary>
public sealed class MixedPrecision : IDisposable
{
    private readonly List<(Parameter Model, Parameter Master)> _pairs;
    private readonly Dictionary<string, Tensor> _byName;

    /// <summary>Converts <paramref name="model"/> to bfloat16 after taking float32 master copies of its trainable parameters.</summary>
    public MixedPrecision(nn.Module model)
    {
        var trainable = model.parameters().Where(p => p.requires_grad).ToList();
        var names = model.named_parameters().Where(p => p.parameter.requires_grad).Select(p => p.name).ToList();
        var masters = trainable.Select(p => new Parameter(p.detach().to(ScalarType.Float32).clone())).ToList();
        model.to(ScalarType.BFloat16);
        // Module.to replaces parameter objects: pair the masters with the converted ones by position.
        var converted = model.parameters().Where(p => p.requires_grad).ToList();
        if (converted.Count != masters.Count) throw new InvalidOperationException("Parameter count changed during conversion to bfloat16.");
        _pairs = converted.Zip(masters).ToList();
        _byName = names.Zip(masters, (name, master) => (name, (Tensor)master)).ToDictionary(p => p.name, p => p.Item2);
    }

    /// <summary>The float32 masters by the model's parameter names: the weights a checkpoint or a best-weights copy must hold.</summary>
    public IReadOnlyDictionary<string, Tensor> Masters => _byName;

    /// <summary>Writes the masters to a safetensors file.</summary>
    public void SaveMasters(string path) => SafeTensors.Save(path, _byName);

    /// <summary>Takes the model's (bf16) weights as the masters: for a checkpoint written without mixed precision.</summary>
    public void TakeModelWeights()
    {
        using var _ = no_grad();
        foreach (var (model, master) in _pairs) master.copy_(model);
    }

    /// <summary>Reads masters written by <see cref="SaveMasters"/> into this run's masters and rounds them into the model.</summary>
    /// <exception cref="InvalidDataException">The file lacks a master or holds one of another shape.</exception>
    public void LoadMasters(string path)
    {
        using var file = SafeTensors.Read(path);
        using var _ = no_grad();
        foreach (var (name, master) in _byName)
        {
            if (!file.Contains(name) || !file[name].Tensor.shape.SequenceEqual(master.shape))
                throw new InvalidDataException($"'{path}' has no float32 master of shape [{string.Join(", ", master.shape)}] for '{name}'.");
            master.copy_(file[name].Tensor);
        }
        CopyMasterToModel();
    }

    /// <summary>The float32 copies the optimizer should update.</summary>
    public IEnumerable<Parameter> MasterParameters => _pairs.Select(p => p.Master);

    /// <summary>Moves the bf16 gradients onto the float32 masters (and clears the model's).</summary>
    public void CopyGradientsToMaster()
    {
        using var _ = no_grad();
        foreach (var (model, master) in _pairs)
        {
            var grad = model.grad;
            if (grad is null) { master.grad = null; continue; }
            master.grad = grad.to(ScalarType.Float32);
            model.grad = null;
        }
    }

    /// <summary>Rounds the updated masters back into the model's bf16 parameters.</summary>
    public void CopyMasterToModel()
    {
        using var _ = no_grad();
        foreach (var (model, master) in _pairs) model.copy_(master);
    }

    /// <summary>Converts <paramref name="model"/> back to float32 holding the master weights (for inference after training).</summary>
    public void RestoreFloat32(nn.Module model)
    {
        model.to(ScalarType.Float32);
        using var _ = no_grad();
        foreach (var (parameter, (_, master)) in model.parameters().Where(p => p.requires_grad).Zip(_pairs))
            parameter.copy_(master);
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        foreach (var (_, master) in _pairs) master.Dispose();
    }
}
