using System.Text.Json;
using System.Text.Unicode;

namespace Pipelines.Models.Checkpoints;

/// <summary>Where one tensor lies in the data section: offsets are relative to the first byte after the header.</summary>
internal sealed record SafeTensorsLayout(string Name, SafeTensorsDType DType, long[] Shape, long Begin, long End)
{
    public long Length => End - Begin;
}

/// <summary>
/// The parsed and fully validated JSON header of a safetensors file. Nothing is allocated for
/// tensor data until every entry has passed: known dtype, non-negative integer shape, offsets
/// inside the data, byte length equal to elements x element size, and entries that tile the data
/// section exactly (no overlaps, no holes, nothing after the last tensor), as the format requires.
/// </summary>
internal sealed class SafeTensorsHeader
{
    /// <summary>The key of the optional string-to-string map in the header.</summary>
    public const string MetadataKey = "__metadata__";

    /// <summary>The tensors in the order of their data (by offset).</summary>
    public required IReadOnlyList<SafeTensorsLayout> Tensors { get; init; }

    /// <summary>The <c>__metadata__</c> map, empty when the header has none.</summary>
    public required IReadOnlyDictionary<string, string> Metadata { get; init; }

    /// <summary>Parses <paramref name="header"/> and checks it against a data section of <paramref name="dataLength"/> bytes.</summary>
    /// <exception cref="InvalidDataException">Anything malformed, with the tensor and the problem named.</exception>
    public static SafeTensorsHeader Parse(ReadOnlyMemory<byte> header, long dataLength, string source)
    {
        var bytes = header.Span;
        if (bytes.Length == 0 || bytes[0] != (byte)'{')
            throw Malformed(source, "the header must be a JSON object starting with '{'" +
                (bytes.Length == 0 ? ", but it is empty." : $", but its first byte is 0x{bytes[0]:X2}."));
        if (!Utf8.IsValid(bytes))
            throw Malformed(source, "the header is not valid UTF-8.");

        JsonDocument document;
        try { document = JsonDocument.Parse(header, new JsonDocumentOptions { MaxDepth = 16 }); }
        catch (JsonException e) { throw Malformed(source, $"the header is not valid JSON: {e.Message}"); }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
                throw Malformed(source, $"the header must be a JSON object, but it is {Article(root.ValueKind)}.");

            var seen = new HashSet<string>(StringComparer.Ordinal);
            var tensors = new List<SafeTensorsLayout>();
            IReadOnlyDictionary<string, string>? metadata = null;
            foreach (var property in root.EnumerateObject())
            {
                if (!seen.Add(property.Name))
                    throw Malformed(source, property.Name == MetadataKey
                        ? $"'{MetadataKey}' appears more than once in the header."
                        : $"tensor {Quote(property.Name)} appears more than once in the header.");
                if (property.Name == MetadataKey) metadata = ParseMetadata(property.Value, source);
                else tensors.Add(ParseTensor(property.Name, property.Value, dataLength, source));
            }

            CheckTiling(tensors, dataLength, source);
            return new SafeTensorsHeader { Tensors = tensors, Metadata = metadata ?? new Dictionary<string, string>() };
        }
    }

    private static Dictionary<string, string> ParseMetadata(JsonElement value, string source)
    {
        if (value.ValueKind != JsonValueKind.Object)
            throw Malformed(source, $"'{MetadataKey}' must be an object of strings, but it is {Article(value.ValueKind)}.");
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var entry in value.EnumerateObject())
        {
            if (entry.Value.ValueKind != JsonValueKind.String)
                throw Malformed(source, $"'{MetadataKey}' entry {Quote(entry.Name)} must be a string, but it is {Article(entry.Value.ValueKind)}.");
            if (!metadata.TryAdd(entry.Name, entry.Value.GetString()!))
                throw Malformed(source, $"'{MetadataKey}' entry {Quote(entry.Name)} appears more than once.");
        }
        return metadata;
    }

    private static SafeTensorsLayout ParseTensor(string name, JsonElement value, long dataLength, string source)
    {
        var tensor = $"tensor {Quote(name)}";
        if (value.ValueKind != JsonValueKind.Object)
            throw Malformed(source, $"{tensor} must be described by an object with dtype, shape and data_offsets, but it is {Article(value.ValueKind)}.");

        JsonElement? dtypeValue = null, shapeValue = null, offsetsValue = null;
        foreach (var field in value.EnumerateObject())
        {
            ref JsonElement? slot = ref dtypeValue;
            switch (field.Name)
            {
                case "dtype": slot = ref dtypeValue; break;
                case "shape": slot = ref shapeValue; break;
                case "data_offsets": slot = ref offsetsValue; break;
                default: continue; // unknown fields are ignored, as the reference implementation does
            }
            if (slot is not null) throw Malformed(source, $"{tensor} has '{field.Name}' more than once.");
            slot = field.Value;
        }

        if (dtypeValue is not { ValueKind: JsonValueKind.String } dtypeElement)
            throw Malformed(source, $"{tensor} needs a string 'dtype'" + Found(dtypeValue));
        var dtypeName = dtypeElement.GetString()!;
        var dtype = SafeTensorsDType.FromName(dtypeName)
            ?? throw Malformed(source, $"{tensor} has unknown dtype {Quote(dtypeName)} (TorchSharp reads {SafeTensorsDType.Readable}).");
        if (dtype.Type is null)
            throw Malformed(source, $"{tensor} has dtype {dtype.Name}, which TorchSharp 0.107 cannot hold (it reads {SafeTensorsDType.Readable}).");

        if (shapeValue is not { ValueKind: JsonValueKind.Array } shapeElement)
            throw Malformed(source, $"{tensor} needs a 'shape' array" + Found(shapeValue));
        var shape = new long[shapeElement.GetArrayLength()];
        var i = 0;
        foreach (var dim in shapeElement.EnumerateArray())
        {
            if (dim.ValueKind != JsonValueKind.Number || !dim.TryGetInt64(out var size))
                throw Malformed(source, $"{tensor} has shape entry {dim.GetRawText()}, which is not an integer.");
            if (size < 0)
                throw Malformed(source, $"{tensor} has negative dimension {size} in its shape.");
            shape[i++] = size;
        }

        if (offsetsValue is not { ValueKind: JsonValueKind.Array } offsetsElement || offsetsElement.GetArrayLength() != 2)
            throw Malformed(source, $"{tensor} needs 'data_offsets' as [begin, end]" + Found(offsetsValue));
        var begin = Offset(offsetsElement[0], tensor, source);
        var end = Offset(offsetsElement[1], tensor, source);
        var offsets = $"data_offsets [{begin}, {end}]";
        if (end < begin)
            throw Malformed(source, $"{tensor} has {offsets}, which end before they begin.");
        if (end > dataLength)
            throw Malformed(source, $"{tensor} has {offsets}, outside the {dataLength} bytes of data after the header.");

        long expected;
        try { expected = checked(shape.Aggregate(1L, (n, d) => n * d) * dtype.Size); }
        catch (OverflowException) { throw Malformed(source, $"{tensor} has shape {ShapeText(shape)}, too large to address with 64 bits."); }
        if (expected != end - begin)
            throw Malformed(source, $"{tensor} has dtype {dtype.Name} and shape {ShapeText(shape)}, which need {expected} bytes, but its {offsets} span {end - begin}.");

        return new SafeTensorsLayout(name, dtype, shape, begin, end);
    }

    /// <summary>The format requires the tensors to cover the data section exactly, which rules out polyglot files.</summary>
    private static void CheckTiling(List<SafeTensorsLayout> tensors, long dataLength, string source)
    {
        tensors.Sort((a, b) => a.Begin != b.Begin ? a.Begin.CompareTo(b.Begin)
            : a.End != b.End ? a.End.CompareTo(b.End) : string.CompareOrdinal(a.Name, b.Name));
        var covered = 0L;
        SafeTensorsLayout? previous = null;
        foreach (var t in tensors)
        {
            if (t.Begin < covered)
                throw Malformed(source, $"tensor {Quote(t.Name)} (bytes {t.Begin} to {t.End}) overlaps tensor {Quote(previous!.Name)} (bytes {previous.Begin} to {previous.End}).");
            if (t.Begin > covered)
                throw Malformed(source, $"bytes {covered} to {t.Begin} of the data, before tensor {Quote(t.Name)}, belong to no tensor; the format forbids holes.");
            covered = t.End;
            previous = t;
        }
        if (covered != dataLength)
            throw Malformed(source, previous is null
                ? $"the header lists no tensors, but {dataLength} bytes of data follow it; the format forbids bytes that belong to no tensor."
                : $"the last {dataLength - covered} bytes of the data, after tensor {Quote(previous.Name)}, belong to no tensor; the format forbids holes.");
    }

    private static long Offset(JsonElement value, string tensor, string source) =>
        value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out var offset) && offset >= 0 ? offset
            : throw Malformed(source, $"{tensor} has data offset {value.GetRawText()}, which is not a non-negative 64-bit integer.");

    private static string Found(JsonElement? value) => value is null ? ", but has none." : $", but has {Article(value.Value.ValueKind)}.";

    private static string Article(JsonValueKind kind) => kind switch
    {
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        JsonValueKind.Null => "null",
        _ => kind.ToString(),
    };

    internal static string ShapeText(IEnumerable<long> shape) => $"[{string.Join(", ", shape)}]";

    /// <summary>A name for a message: quoted, and cut short when a hostile file makes it huge.</summary>
    internal static string Quote(string name) => name.Length <= 200 ? $"'{name}'" : $"'{name[..200]}...' ({name.Length} characters)";

    internal static InvalidDataException Malformed(string source, string problem) =>
        new($"Invalid safetensors file {source}: {problem}");
}
