using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Pipelines.Models.Training;

/// <summary>
/// L2-SP regularisation (Li et al., 2018): lambda x ||theta - theta_0||^2 over the encoder's
/// trainable weights, which pulls them towards the pretrained starting point instead of towards
/// zero. Keeps a copy of the starting weights; dispose it after training.
/// </summary>
public sealed class L2SPPenalty : IDisposable
{
    private readonly List<(Parameter Parameter, Tensor Start)> _anchor = [];
    private readonly double _lambda;

    /// <summary>Anchors the trainable parameters of <paramref name="model"/> whose names start with <paramref name="prefix"/>.</summary>
    public L2SPPenalty(nn.Module model, double lambda, string prefix = "bert.")
    {
        _lambda = lambda;
        if (lambda <= 0) return;
        foreach (var (name, parameter) in model.named_parameters())
            if (parameter.requires_grad && name.StartsWith(prefix, StringComparison.Ordinal))
                _anchor.Add((parameter, parameter.detach().clone().DetachFromDisposeScope()));
    }

    /// <summary><paramref name="loss"/> plus the penalty (unchanged when lambda is 0).</summary>
    public Tensor AddTo(Tensor loss)
    {
        if (_anchor.Count == 0) return loss;
        var penalty = zeros(1, device: loss.device);
        foreach (var (parameter, start) in _anchor) penalty += (parameter - start).pow(2).sum();
        return loss + _lambda * penalty[0];
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        foreach (var (_, start) in _anchor) start.Dispose();
        _anchor.Clear();
    }
}
