using Google.Protobuf;

namespace Pipelines.Transforms.Tests;

/// <summary>
/// SentencePiece .model files written by the tests (no model file can be downloaded here): the
/// protobuf ModelProto of sentencepiece_model.proto, field by field. Pieces: &lt;unk&gt;, &lt;s&gt;,
/// &lt;/s&gt;, then the normal pieces with descending scores (for BPE, the earlier merge scores higher).
/// </summary>
internal static class SentencePieceModels
{
    // Piece types of sentencepiece_model.proto.
    private const int Normal = 1, Unknown = 2, Control = 3;
    // Model types.
    public const int Unigram = 1, Bpe = 2;

    /// <summary>A model over <paramref name="pieces"/> (each "▁"-marked as SentencePiece writes them).</summary>
    public static byte[] Write(int modelType, IReadOnlyList<string> pieces)
    {
        using var stream = new MemoryStream();
        var output = new CodedOutputStream(stream);
        void Piece(string text, float score, int type) => Message(output, 1, o =>
        {
            o.WriteTag(1, WireFormat.WireType.LengthDelimited); o.WriteString(text);
            o.WriteTag(2, WireFormat.WireType.Fixed32); o.WriteFloat(score);
            o.WriteTag(3, WireFormat.WireType.Varint); o.WriteInt32(type);
        });
        Piece("<unk>", 0, Unknown);
        Piece("<s>", 0, Control);
        Piece("</s>", 0, Control);
        for (var i = 0; i < pieces.Count; i++) Piece(pieces[i], -i, Normal);
        Message(output, 2, o =>                                                  // trainer_spec
        {
            o.WriteTag(3, WireFormat.WireType.Varint); o.WriteInt32(modelType);
            o.WriteTag(4, WireFormat.WireType.Varint); o.WriteInt32(pieces.Count + 3);
            o.WriteTag(40, WireFormat.WireType.Varint); o.WriteInt32(0);            // unk_id
            o.WriteTag(41, WireFormat.WireType.Varint); o.WriteInt32(1);            // bos_id
            o.WriteTag(42, WireFormat.WireType.Varint); o.WriteInt32(2);            // eos_id
            o.WriteTag(43, WireFormat.WireType.Varint); o.WriteInt32(-1);           // pad_id: none
        });
        Message(output, 3, o =>                                                  // normalizer_spec
        {
            o.WriteTag(1, WireFormat.WireType.LengthDelimited); o.WriteString("identity");
            o.WriteTag(3, WireFormat.WireType.Varint); o.WriteBool(true);           // add_dummy_prefix
            o.WriteTag(4, WireFormat.WireType.Varint); o.WriteBool(true);           // remove_extra_whitespaces
            o.WriteTag(5, WireFormat.WireType.Varint); o.WriteBool(true);           // escape_whitespaces
        });
        output.Flush();
        return stream.ToArray();
    }

    private static void Message(CodedOutputStream output, int field, Action<CodedOutputStream> write)
    {
        using var inner = new MemoryStream();
        var nested = new CodedOutputStream(inner);
        write(nested);
        nested.Flush();
        output.WriteTag(field, WireFormat.WireType.LengthDelimited);
        output.WriteBytes(ByteString.CopyFrom(inner.ToArray()));
    }

    /// <summary>The normal pieces of <see cref="SmallBpe"/>: merges up to whole words of the test sentences, then single characters.</summary>
    public static readonly string[] SmallBpePieces =
    [
        "▁t", "he", "▁the", "at", "▁c", "▁cat", "▁s", "▁sat", "on", "▁on", "▁m", "▁mat", "▁h", "el", "ll", "ello", "▁hello",
        "▁", "t", "h", "e", "c", "a", "s", "o", "n", "m", "l", "w", "r", "d", ",", "!", ".",
    ];

    /// <summary>A small BPE model over <see cref="SmallBpePieces"/>.</summary>
    public static byte[] SmallBpe() => Write(Bpe, SmallBpePieces);

    /// <summary>The id of a piece of <see cref="SmallBpe"/> (after the three special pieces).</summary>
    public static int Id(string piece) => 3 + Array.IndexOf(SmallBpePieces, piece);
}
