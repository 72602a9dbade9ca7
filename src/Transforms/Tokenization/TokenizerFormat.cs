namespace Pipelines;

/// <summary>
/// The bytes of a saved <see cref="TextTokenizer"/>: "PLTOK" and a format version, the encoder
/// (its kind, then its own fields, vocabulary files included), then the special ids as resolved when
/// saved, which loading checks against the ones it resolves. Every malformed input is an
/// <see cref="InvalidDataException"/> that says what was wrong.
/// </summary>
internal static class TokenizerFormat
{
    private const string Magic = "PLTOK";
    private const int Version = 1;
    private const int MaxFileBytes = 1 << 30;

    public static void Save(TextTokenizer tokenizer, Stream stream)
    {
        using var writer = new BinaryWriter(stream, System.Text.Encoding.UTF8, leaveOpen: true);
        writer.Write(Magic);
        writer.Write(Version);
        WriteEncoder(writer, tokenizer.Encoder);
        var s = tokenizer.Specials;
        foreach (var id in new[] { s.Pad, s.Unknown, s.Cls, s.Sep, s.Mask ?? -1 }) writer.Write(id);
    }

    public static TextTokenizer Load(Stream stream, Func<SubwordEncoder, TextTokenizer> create)
    {
        using var reader = new BinaryReader(stream, System.Text.Encoding.UTF8, leaveOpen: true);
        try
        {
            var magic = reader.ReadString();
            if (magic != Magic) throw new InvalidDataException($"Not a saved tokenizer: it starts with '{magic}', not '{Magic}'.");
            var version = reader.ReadInt32();
            if (version != Version) throw new InvalidDataException($"Saved tokenizer format version {version} is not supported (this library reads version {Version}).");
            var tokenizer = create(ReadEncoder(reader));
            var s = tokenizer.Specials;
            int[] expected = [s.Pad, s.Unknown, s.Cls, s.Sep, s.Mask ?? -1];
            for (var i = 0; i < expected.Length; i++)
            {
                var saved = reader.ReadInt32();
                if (saved != expected[i]) throw new InvalidDataException($"Saved tokenizer's special ids do not match its vocabulary (role {i}: saved {saved}, vocabulary gives {expected[i]}).");
            }
            return tokenizer;
        }
        catch (EndOfStreamException e)
        {
            throw new InvalidDataException("Saved tokenizer is truncated.", e);
        }
        catch (Exception e) when (e is FormatException or IOException)
        {
            // BinaryReader's own refusals: a malformed string length, a negative one.
            throw new InvalidDataException($"Saved tokenizer is malformed: {e.Message}", e);
        }
    }

    public static void WriteEncoder(BinaryWriter writer, SubwordEncoder encoder)
    {
        writer.Write((int)encoder.Kind);
        encoder.Write(writer);
    }

    public static SubwordEncoder ReadEncoder(BinaryReader reader, bool allowCompact = true)
    {
        var kind = (TokenizerKind)reader.ReadInt32();
        return kind switch
        {
            TokenizerKind.WordPiece => WordPieceEncoder.Read(reader),
            TokenizerKind.Bpe => BpeEncoder.Read(reader),
            TokenizerKind.Tiktoken => TiktokenEncoder.Read(reader),
            TokenizerKind.SentencePiece => SentencePieceEncoder.Read(reader),
            TokenizerKind.Characters => CharacterEncoder.Read(reader),
            TokenizerKind.Compact when allowCompact => CompactEncoder.Read(reader),
            _ => throw new InvalidDataException($"Saved tokenizer has an unknown vocabulary kind {(int)kind}."),
        };
    }

    public static void WriteBytes(BinaryWriter writer, byte[] bytes)
    {
        writer.Write(bytes.Length);
        writer.Write(bytes);
    }

    public static byte[] ReadBytes(BinaryReader reader, string what)
    {
        var length = reader.ReadInt32();
        if (length < 0 || length > MaxFileBytes) throw new InvalidDataException($"Saved tokenizer's {what} claims {length} bytes.");
        // A damaged length must not make us allocate a gigabyte before finding the data short.
        var stream = reader.BaseStream;
        if (stream.CanSeek && length > stream.Length - stream.Position)
            throw new InvalidDataException($"Saved tokenizer's {what} is truncated: it claims {length} bytes, {stream.Length - stream.Position} remain.");
        var bytes = reader.ReadBytes(length);
        if (bytes.Length != length) throw new InvalidDataException($"Saved tokenizer's {what} is truncated: {bytes.Length} of {length} bytes.");
        return bytes;
    }
}
