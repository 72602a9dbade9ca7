using TorchSharp;
using static TorchSharp.torch;

namespace Pipelines.Models.Checkpoints;

/// <summary>What <see cref="SafeTensors.LoadInto(nn.Module, SafeTensorsFile, bool)"/> did not match (empty after a strict load).</summary>
/// <param name="Missing">Names the module expects that the file does not provide; they keep their values.</param>
/// <param name="Unexpected">Names in the file that the module does not have; they were ignored.</param>
public sealed record CheckpointLoadReport(IReadOnlyList<string> Missing, IReadOnlyList<string> Unexpected);

// Saving and loading a module's state_dict. Tied weights (one tensor registered under two names, as
// GptLanguageModel's lm_head.weight and transformer.wte.weight) are stored once, like
// the reference library's save_model: the first name in state_dict order is kept and each dropped
// name is recorded in the metadata as "dropped name" -> "kept name". Loading works with such a file
// and with one that holds every name (written by Save from a state_dict).
public static partial class SafeTensors
{
    /// <summary>
    /// Saves <paramref name="module"/>'s state_dict (parameters and persistent buffers) to
    /// <paramref name="path"/>, atomically. Weights tied to each other are written once; see the
    /// remarks of <see cref="SaveModule(nn.Module, Stream, IReadOnlyDictionary{string, string}?)"/>.
    /// </summary>
    public static void SaveModule(nn.Module module, string path, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var (tensors, allMetadata) = PrepareModule(module, metadata);
        Save(path, tensors, allMetadata);
    }

    /// <summary>Saves <paramref name="module"/>'s state_dict to <paramref name="stream"/>.</summary>
    /// <remarks>
    /// Tied weights (one tensor under several names) are stored once, under the first
    /// of their names in state_dict order; each other name is recorded in the metadata with the kept
    /// name as its value, unless <paramref name="metadata"/> already uses that key. The metadata also
    /// gets "format": "pt" unless given. Store a model's config with <see cref="CheckpointMetadata.ForConfig"/>.
    /// </remarks>
    public static void SaveModule(nn.Module module, Stream stream, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var (tensors, allMetadata) = PrepareModule(module, metadata);
        Save(stream, tensors, allMetadata);
    }

    private static (List<KeyValuePair<string, Tensor>> Tensors, Dictionary<string, string> Metadata) PrepareModule(
        nn.Module module, IReadOnlyDictionary<string, string>? metadata)
    {
        ArgumentNullException.ThrowIfNull(module);
        var all = new Dictionary<string, string>(metadata ?? new Dictionary<string, string>(), StringComparer.Ordinal);
        all.TryAdd(CheckpointMetadata.FormatKey, "pt");
        var tensors = new List<KeyValuePair<string, Tensor>>();
        foreach (var (tensor, names) in SharedTensors.Group(module.state_dict()))
        {
            tensors.Add(new(names[0], tensor));
            foreach (var dropped in names.Skip(1)) all.TryAdd(dropped, names[0]);
        }
        return (tensors, all);
    }

    /// <summary>Reads the file at <paramref name="path"/> and copies its tensors into <paramref name="module"/>.</summary>
    /// <inheritdoc cref="LoadInto(nn.Module, SafeTensorsFile, bool)"/>
    public static CheckpointLoadReport LoadInto(nn.Module module, string path, bool strict = true)
    {
        using var file = Read(path);
        return LoadInto(module, file, strict, $"'{path}'");
    }

    /// <summary>
    /// Copies the tensors of <paramref name="file"/> into <paramref name="module"/>'s parameters and
    /// buffers, in place and without recording gradients, on whatever device the module is. Every
    /// tensor is checked first (same shape and dtype), so a failed load changes nothing. Tied weights
    /// load from any one of their names, and a name recorded as dropped by <see cref="SaveModule(nn.Module, string, IReadOnlyDictionary{string, string}?)"/>
    /// loads from the name it was kept under (so an untied model can start from a tied checkpoint).
    /// </summary>
    /// <param name="module">The module to fill; its state_dict names decide what is expected.</param>
    /// <param name="file">A file read by <see cref="Read(string)"/>.</param>
    /// <param name="strict">True: names missing from the file or unknown to the module are an error.</param>
    /// <returns>The names that were missing or unexpected (both empty when <paramref name="strict"/>).</returns>
    /// <exception cref="InvalidDataException">A shape or dtype differs, tied copies in the file differ, or
    /// (when strict) names are missing or unexpected; the message lists all of them.</exception>
    public static CheckpointLoadReport LoadInto(nn.Module module, SafeTensorsFile file, bool strict = true) =>
        LoadInto(module, file, strict, "");

    private static CheckpointLoadReport LoadInto(nn.Module module, SafeTensorsFile file, bool strict, string source)
    {
        ArgumentNullException.ThrowIfNull(module);
        ArgumentNullException.ThrowIfNull(file);
        var expected = module.state_dict();
        var missing = new List<string>();
        var mismatched = new List<string>();
        var plan = new List<(Tensor Target, Tensor Source)>();

        // One group per distinct tensor: tied names share it, and loading one name loads all.
        foreach (var (target, group) in SharedTensors.Group(expected))
        {
            var present = group.Where(file.Contains).ToList();
            if (present.Count == 0)
            {
                var alias = group.Select(n => file.Metadata.GetValueOrDefault(n)).FirstOrDefault(k => k is not null && file.Contains(k));
                if (alias is null) { missing.AddRange(group); continue; }
                present.Add(alias);
            }
            foreach (var name in present)
            {
                var entry = file[name];
                if (entry.Tensor.dtype != target.dtype || !entry.Tensor.shape.SequenceEqual(target.shape))
                    mismatched.Add($"{name} (file {entry.DType} {SafeTensorsHeader.ShapeText(entry.Shape)}, " +
                        $"module {SafeTensorsDType.Describe(target.dtype)} {SafeTensorsHeader.ShapeText(target.shape)})");
                else if (name != present[0] && !SameBytes(file[present[0]].Tensor, entry.Tensor))
                    mismatched.Add($"{name} (tied to {present[0]} in the module, but the file holds different values)");
            }
            plan.Add((target, file[present[0]].Tensor));
        }
        var unexpected = file.Names.Where(n => !expected.ContainsKey(n)).ToList();

        if (mismatched.Count > 0 || (strict && (missing.Count > 0 || unexpected.Count > 0)))
            throw new InvalidDataException(
                $"Checkpoint {source}{(source.Length > 0 ? " " : "")}does not fit {module.GetType().Name}:" +
                List("missing", missing) + List("unexpected", unexpected) + List("mismatched", mismatched));

        using (no_grad())
            foreach (var (target, value) in plan) target.copy_(value);
        return new CheckpointLoadReport(missing, unexpected);
    }

    /// <summary>Bitwise equality of two tensors of one dtype and shape (NaN payloads included).</summary>
    private static bool SameBytes(Tensor a, Tensor b)
    {
        if (a.device_type != DeviceType.CPU || b.device_type != DeviceType.CPU)
        {
            using var scope = NewDisposeScope();
            return SameBytes(a.cpu(), b.cpu());
        }
        if (a.NumberOfElements * a.ElementSize <= int.MaxValue) return a.bytes.SequenceEqual(b.bytes);
        using var same = a.eq(b).all();
        return same.item<bool>();
    }

    private static string List(string what, List<string> names)
    {
        if (names.Count == 0) return "";
        const int shown = 20;
        var more = names.Count > shown ? $", ... and {names.Count - shown} more" : "";
        return $"{Environment.NewLine}  {what} ({names.Count}): {string.Join(", ", names.Take(shown))}{more}";
    }
}
