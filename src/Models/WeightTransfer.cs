using static TorchSharp.torch;

namespace Pipelines.Models;

/// <summary>Copies pretrained weights into a model built for another task (e.g. a masked-LM encoder into a classifier's encoder).</summary>
public static class WeightTransfer
{
    /// <summary>
    /// Copies every tensor of <paramref name="source"/>'s state into the tensor of the same name and
    /// shape in <paramref name="target"/> (values are copied, not shared). Returns the names of
    /// <paramref name="target"/> that received no value (e.g. a pooler the source lacks).
    /// </summary>
    /// <exception cref="InvalidDataException">A name exists in both with different shapes.</exception>
    public static IReadOnlyList<string> CopyMatching(nn.Module source, nn.Module target)
    {
        var from = source.state_dict();
        var missing = new List<string>();
        using var _ = no_grad();
        foreach (var (name, destination) in target.state_dict())
        {
            if (!from.TryGetValue(name, out var value)) { missing.Add(name); continue; }
            if (!value.shape.SequenceEqual(destination.shape))
                throw new InvalidDataException($"Cannot copy '{name}': pretrained shape [{string.Join(", ", value.shape)}], target shape [{string.Join(", ", destination.shape)}].");
            destination.copy_(value);
        }
        return missing;
    }
}
