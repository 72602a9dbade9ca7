using System.Security.Cryptography;
using Microsoft.ML;
using Microsoft.ML.Runtime;
using Pipelines.Models;
using Pipelines.Models.Checkpoints;
using Pipelines.Models.Lora;
using TorchSharp;

namespace Pipelines;

/// <summary>
/// The thin layer between ML.NET's model-zip streams and this library's models: a model
/// transformer's entry in a zip holds its architecture (JSON), its tokenizer (self-contained bytes)
/// and its weights (safetensors, validated on load), each in a named binary stream that starts with
/// the SHA-256 of the rest, so a zip whose weights were modified or damaged after saving is refused
/// instead of predicting with them.
/// </summary>
internal static class ModelStreams
{
    private const string ConfigStream = "Config.json";
    private const string TokenizerStream = "Tokenizer.bin";
    private const string WeightsStream = "Weights.safetensors";

    /// <summary>First format: the same streams without checksums (still read).</summary>
    private const uint UncheckedVersion = 0x00010001;
    /// <summary>Current format: every stream is prefixed with the SHA-256 of its payload.</summary>
    private const uint ChecksummedVersion = 0x00010002;
    private const int HashLength = 32;

    /// <summary>The version stamp shared by this library's model transformers (they all write these streams).</summary>
    public static VersionInfo Version(string modelSignature, string loaderSignature, Type transformer) => new(
        modelSignature: modelSignature, verWrittenCur: ChecksummedVersion, verReadableCur: ChecksummedVersion,
        verWeCanReadBack: UncheckedVersion, loaderSignature: loaderSignature, loaderAssemblyName: transformer.Assembly.FullName);

    public static void SaveConfig(ModelSaveContext ctx, TransformerConfig config) =>
        Save(ctx, ConfigStream, stream => { using var writer = new BinaryWriter(stream, System.Text.Encoding.UTF8, leaveOpen: true); writer.Write(config.ToJson()); });

    public static TransformerConfig LoadConfig(ModelLoadContext ctx)
    {
        string? json = null;
        Load(ctx, ConfigStream, stream => { using var reader = new BinaryReader(stream, System.Text.Encoding.UTF8, leaveOpen: true); json = reader.ReadString(); });
        return TransformerConfig.FromJson(json!);
    }

    public static void SaveTokenizer(ModelSaveContext ctx, TextTokenizer tokenizer) => Save(ctx, TokenizerStream, tokenizer.Save);

    public static TextTokenizer LoadTokenizer(ModelLoadContext ctx)
    {
        TextTokenizer? tokenizer = null;
        Load(ctx, TokenizerStream, stream => tokenizer = TextTokenizer.Load(stream));
        return tokenizer!;
    }

    /// <summary>
    /// Writes the weights. LoRA adapters must have been merged into their layers (fine-tuning does
    /// that at the end): the merged weights are saved and the adapter matrices left out, so the
    /// loaded model is a plain one that computes the same function.
    /// </summary>
    public static void SaveWeights(ModelSaveContext ctx, torch.nn.Module model)
    {
        if (model.modules().OfType<LoraLinear>().Any(l => l.HasAdapter && !l.IsMerged))
            throw new InvalidOperationException("Merge the LoRA adapters (Adapters.Merge) before saving the model.");
        var state = model.state_dict().Where(p => !LoraLinear.IsAdapterParameter(p.Key));
        Save(ctx, WeightsStream, stream => SafeTensors.Save(stream, state, new Dictionary<string, string> { ["format"] = "pt" }));
    }

    /// <summary>
    /// Reads the weights into <paramref name="model"/> and moves it to the device the loading
    /// MLContext asks for (its GpuDeviceId and FallbackToCpu; the CPU by default), where a loaded
    /// model runs; the zip records no device.
    /// </summary>
    public static void LoadWeights(IHostEnvironment env, ModelLoadContext ctx, torch.nn.Module model, string component)
    {
        Load(ctx, WeightsStream, stream => { using var file = SafeTensors.Read(stream); SafeTensors.LoadInto(model, file); });
        model.to(DeviceSelection.Select(env, null, component));
    }

    private static void Save(ModelSaveContext ctx, string name, Action<Stream> write)
    {
        using var payload = new MemoryStream();
        write(payload);
        var bytes = new ArraySegment<byte>(payload.GetBuffer(), 0, (int)payload.Length);
        var hash = SHA256.HashData(bytes);
        ctx.SaveBinaryStream(name, writer => { writer.Write(hash); writer.Write(bytes); });
    }

    /// <summary>Reads stream <paramref name="name"/>, checking its SHA-256 first when the zip's format has one.</summary>
    /// <exception cref="InvalidDataException">The stream is missing or fails its checksum.</exception>
    private static void Load(ModelLoadContext ctx, string name, Action<Stream> read)
    {
        var checksummed = ctx.Header.ModelVerWritten >= ChecksummedVersion;
        var found = ctx.TryLoadBinaryStream(name, reader =>
        {
            if (!checksummed) { read(reader.BaseStream); return; }
            using var buffer = new MemoryStream();
            reader.BaseStream.CopyTo(buffer);
            var bytes = buffer.GetBuffer().AsSpan(0, (int)buffer.Length);
            if (bytes.Length < HashLength || !SHA256.HashData(bytes[HashLength..]).AsSpan().SequenceEqual(bytes[..HashLength]))
                throw new InvalidDataException(
                    $"The model zip's '{name}' stream fails its SHA-256 checksum: the file was modified or damaged after it was saved.");
            read(new MemoryStream(buffer.GetBuffer(), HashLength, bytes.Length - HashLength, writable: false));
        });
        if (!found) throw new InvalidDataException($"The model zip lacks the '{name}' stream of a transformer model.");
    }
}
