using System.Buffers;
using System.Buffers.Binary;
using System.Text.Encodings.Web;
using System.Text.Json;
using static TorchSharp.torch;

namespace Pipelines.Models.Checkpoints;

/// <summary>
/// Reads and writes the safetensors format (Hugging Face's checkpoint format, written here by hand
/// from its specification): an 8-byte little-endian header length N, N bytes of UTF-8 JSON naming
/// each tensor's dtype, shape and byte range, then the raw little-endian, row-major data. Nothing in
/// a file is ever executed or unpickled; every header is validated before any tensor is allocated.
/// </summary>
public static partial class SafeTensors
{
    /// <summary>The largest header accepted or written (100 MB, the reference implementation's limit).</summary>
    public const long MaxHeaderBytes = 100_000_000;

    /// <summary>
    /// Writes <paramref name="tensors"/> and <paramref name="metadata"/> to <paramref name="path"/>
    /// atomically: into a temporary file in the same directory, which then replaces the target.
    /// </summary>
    /// <inheritdoc cref="Save(Stream, IEnumerable{KeyValuePair{string, Tensor}}, IReadOnlyDictionary{string, string}?)"/>
    public static void Save(string path, IEnumerable<KeyValuePair<string, Tensor>> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        AtomicFile.Write(path, file => Save(file, tensors, metadata));
    }

    /// <summary>
    /// Writes <paramref name="tensors"/> in the safetensors format. Each tensor is written from a
    /// contiguous CPU copy, so tensors on any device and with any strides are accepted. Tensors are
    /// laid out as the reference implementation does (largest element size first, then by name),
    /// the header is padded with spaces to a multiple of 8 bytes, and metadata keys are sorted.
    /// A tensor given under two names is written twice: the format has no aliases (to store tied
    /// weights once, use <see cref="SaveModule(TorchSharp.torch.nn.Module, string, IReadOnlyDictionary{string, string}?)"/>).
    /// </summary>
    /// <param name="stream">Where the file is written, from its current position.</param>
    /// <param name="tensors">Names and tensors; names must be distinct and not "__metadata__".</param>
    /// <param name="metadata">Free-form strings stored in the header's <c>__metadata__</c>.</param>
    /// <exception cref="ArgumentException">A name is repeated or reserved, or a tensor's type has no safetensors dtype.</exception>
    public static void Save(Stream stream, IEnumerable<KeyValuePair<string, Tensor>> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(tensors);
        EnsureLittleEndian();

        var items = new List<(string Name, Tensor Tensor, SafeTensorsDType DType)>();
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (name, tensor) in tensors)
        {
            if (name is null) throw new ArgumentException("A tensor name is null.", nameof(tensors));
            if (name == SafeTensorsHeader.MetadataKey)
                throw new ArgumentException($"'{SafeTensorsHeader.MetadataKey}' is reserved for the header's metadata and cannot name a tensor.", nameof(tensors));
            if (!names.Add(name)) throw new ArgumentException($"Tensor {SafeTensorsHeader.Quote(name)} is given more than once.", nameof(tensors));
            if (tensor is null) throw new ArgumentException($"Tensor {SafeTensorsHeader.Quote(name)} is null.", nameof(tensors));
            var dtype = SafeTensorsDType.FromScalarType(tensor.dtype)
                ?? throw new ArgumentException($"Tensor {SafeTensorsHeader.Quote(name)} has type {tensor.dtype}, which the safetensors format cannot hold.", nameof(tensors));
            items.Add((name, tensor, dtype));
        }
        items.Sort((a, b) => a.DType.Rank != b.DType.Rank ? b.DType.Rank.CompareTo(a.DType.Rank) : string.CompareOrdinal(a.Name, b.Name));

        var header = WriteHeader(items.Select(i => (i.Name, i.DType, i.Tensor.shape)), metadata);
        Span<byte> length = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)header.Length);
        stream.Write(length);
        stream.Write(header);
        foreach (var item in items) WriteData(stream, item.Tensor);
        stream.Flush();
    }

    private static byte[] WriteHeader(IEnumerable<(string Name, SafeTensorsDType DType, long[] Shape)> tensors, IReadOnlyDictionary<string, string>? metadata)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            json.WriteStartObject();
            if (metadata is { Count: > 0 })
            {
                json.WriteStartObject(SafeTensorsHeader.MetadataKey);
                foreach (var (key, value) in metadata.OrderBy(m => m.Key, StringComparer.Ordinal))
                {
                    if (value is null) throw new ArgumentException($"Metadata value of {SafeTensorsHeader.Quote(key)} is null.", nameof(metadata));
                    json.WriteString(key, value);
                }
                json.WriteEndObject();
            }
            var offset = 0L;
            foreach (var (name, dtype, shape) in tensors)
            {
                var end = checked(offset + shape.Aggregate(1L, (n, d) => n * d) * dtype.Size);
                json.WriteStartObject(name);
                json.WriteString("dtype", dtype.Name);
                json.WriteStartArray("shape");
                foreach (var d in shape) json.WriteNumberValue(d);
                json.WriteEndArray();
                json.WriteStartArray("data_offsets");
                json.WriteNumberValue(offset);
                json.WriteNumberValue(end);
                json.WriteEndArray();
                json.WriteEndObject();
                offset = end;
            }
            json.WriteEndObject();
        }
        // Pad with spaces so that the data starts 8-byte aligned, as the reference writer does.
        var padded = (buffer.WrittenCount + 7) / 8 * 8;
        if (padded > MaxHeaderBytes)
            throw new ArgumentException($"The names and metadata make a {padded}-byte header, over the {MaxHeaderBytes}-byte limit readers accept.");
        var header = new byte[padded];
        buffer.WrittenSpan.CopyTo(header);
        header.AsSpan(buffer.WrittenCount).Fill((byte)' ');
        return header;
    }

    private static void WriteData(Stream stream, Tensor tensor)
    {
        using var scope = NewDisposeScope();
        var cpu = tensor.detach().cpu().contiguous();
        var length = cpu.NumberOfElements * cpu.ElementSize;
        if (length == 0) return;
        if (length <= int.MaxValue) stream.Write(cpu.bytes);
        else cpu.WriteBytesToStream(stream, 1 << 20);
    }

    /// <summary>Reads and validates the safetensors file at <paramref name="path"/>.</summary>
    /// <inheritdoc cref="Read(Stream)"/>
    public static SafeTensorsFile Read(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan);
        return ReadCore(file, $"'{path}'");
    }

    /// <summary>
    /// Reads and validates a safetensors file from <paramref name="stream"/>: everything from its
    /// current position to its end must be the file. The whole header is checked (JSON object,
    /// known dtypes, non-negative integer shapes, byte ranges that match dtype x shape and tile the
    /// data exactly) before any tensor is allocated. A stream that cannot seek is first copied to memory.
    /// </summary>
    /// <returns>The tensors, on the CPU, and the metadata; dispose it to free the tensors.</returns>
    /// <exception cref="InvalidDataException">The file is malformed; the message names the tensor and the problem.</exception>
    public static SafeTensorsFile Read(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        if (stream.CanSeek) return ReadCore(stream, "(stream)");
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        copy.Position = 0;
        return ReadCore(copy, "(stream)");
    }

    private static SafeTensorsFile ReadCore(Stream stream, string source)
    {
        EnsureLittleEndian();
        var available = stream.Length - stream.Position;
        if (available < 8)
            throw SafeTensorsHeader.Malformed(source, $"it is {available} bytes long, shorter than the 8-byte header length that starts the format.");
        Span<byte> prefix = stackalloc byte[8];
        ReadExactly(stream, prefix, source);
        var headerLength = BinaryPrimitives.ReadUInt64LittleEndian(prefix);
        if (headerLength > MaxHeaderBytes)
            throw SafeTensorsHeader.Malformed(source, $"its header length is {headerLength} bytes, over the {MaxHeaderBytes}-byte limit.");
        if ((long)headerLength > available - 8)
            throw SafeTensorsHeader.Malformed(source, $"its header length is {headerLength} bytes, but only {available - 8} bytes follow the length field.");

        var headerBytes = new byte[headerLength];
        ReadExactly(stream, headerBytes, source);
        var header = SafeTensorsHeader.Parse(headerBytes, available - 8 - (long)headerLength, source);

        using var scope = NewDisposeScope();
        var entries = new List<SafeTensorsEntry>(header.Tensors.Count);
        foreach (var layout in header.Tensors)
            entries.Add(new SafeTensorsEntry(layout.Name, layout.DType.Name, layout.Shape, ReadTensor(stream, layout, source)));
        foreach (var entry in entries) entry.Tensor.MoveToOuterDisposeScope();
        return new SafeTensorsFile(entries, header.Metadata);
    }

    private static Tensor ReadTensor(Stream stream, SafeTensorsLayout layout, string source)
    {
        var type = layout.DType.Type!.Value;
        // Booleans are read as bytes and checked: any byte but 0 or 1 would be undefined behaviour in libtorch.
        var tensor = empty(layout.Shape, type == ScalarType.Bool ? ScalarType.Byte : type, device: CPU); // CPU whatever the default device: bytes are written through host memory
        if (layout.Length > 0)
        {
            try
            {
                if (layout.Length <= int.MaxValue) stream.ReadExactly(tensor.bytes);
                else tensor.ReadBytesFromStream(stream, 1 << 20);
            }
            catch (EndOfStreamException)
            {
                throw SafeTensorsHeader.Malformed(source, $"it ends inside the data of tensor {SafeTensorsHeader.Quote(layout.Name)}.");
            }
        }
        if (type != ScalarType.Bool) return tensor;
        var invalid = tensor.gt(1).flatten();
        if (invalid.any().item<bool>())
        {
            var position = invalid.to_type(ScalarType.Byte).argmax().item<long>();
            throw SafeTensorsHeader.Malformed(source,
                $"tensor {SafeTensorsHeader.Quote(layout.Name)} is BOOL but holds byte {tensor.flatten()[position].item<byte>()} " +
                $"at element {position}; booleans must be 0 or 1.");
        }
        return tensor.to_type(ScalarType.Bool);
    }

    private static void ReadExactly(Stream stream, Span<byte> buffer, string source)
    {
        try { stream.ReadExactly(buffer); }
        catch (EndOfStreamException) { throw SafeTensorsHeader.Malformed(source, "it ends before its header does."); }
    }

    private static void EnsureLittleEndian()
    {
        if (!BitConverter.IsLittleEndian)
            throw new PlatformNotSupportedException("The safetensors reader and writer assume a little-endian machine.");
    }
}
