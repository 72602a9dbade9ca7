using static TorchSharp.torch;

namespace Pipelines.Models.Checkpoints;

/// <summary>One tensor read from a safetensors file.</summary>
/// <param name="Name">The tensor's name in the header.</param>
/// <param name="DType">The element type as the file spells it ("F32", "BF16", "I64", "BOOL" ...).</param>
/// <param name="Shape">The dimensions; empty for a 0-d scalar.</param>
/// <param name="Tensor">The values, on the CPU, owned by the <see cref="SafeTensorsFile"/>.</param>
public sealed record SafeTensorsEntry(string Name, string DType, IReadOnlyList<long> Shape, Tensor Tensor);

/// <summary>
/// The contents of a safetensors file: its tensors (on the CPU, in the order of their data) and its
/// <c>__metadata__</c> map. Disposing it disposes the tensors; copy out what must outlive it.
/// </summary>
public sealed class SafeTensorsFile : IDisposable
{
    private readonly Dictionary<string, SafeTensorsEntry> byName;

    internal SafeTensorsFile(IReadOnlyList<SafeTensorsEntry> entries, IReadOnlyDictionary<string, string> metadata)
    {
        Entries = entries;
        Metadata = metadata;
        byName = entries.ToDictionary(e => e.Name, StringComparer.Ordinal);
    }

    /// <summary>The tensors, in the order their bytes appear in the file.</summary>
    public IReadOnlyList<SafeTensorsEntry> Entries { get; }

    /// <summary>The header's string-to-string <c>__metadata__</c>; empty when the file has none.</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>The tensor names, in the order their bytes appear in the file.</summary>
    public IEnumerable<string> Names => Entries.Select(e => e.Name);

    /// <summary>True when the file holds a tensor called <paramref name="name"/>.</summary>
    public bool Contains(string name) => byName.ContainsKey(name);

    /// <summary>The entry called <paramref name="name"/>.</summary>
    /// <exception cref="KeyNotFoundException">The file holds no such tensor.</exception>
    public SafeTensorsEntry this[string name] =>
        byName.TryGetValue(name, out var entry) ? entry
            : throw new KeyNotFoundException($"The safetensors file holds no tensor {SafeTensorsHeader.Quote(name)}.");

    /// <summary>Disposes every tensor read from the file.</summary>
    public void Dispose()
    {
        foreach (var entry in Entries) entry.Tensor.Dispose();
    }
}
