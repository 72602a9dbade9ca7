using Google.Protobuf;
using Microsoft.ML.Tokenizers;

namespace Pipelines.Transforms;

/// <summary>
/// A SentencePiece model (BPE or unigram, the protobuf .model file) through Microsoft.ML.Tokenizers.
/// Encoded one whitespace-separated word at a time (SentencePiece pieces never span whitespace), so
/// each word starts with the "▁" piece the model's normalization gives it; runs of whitespace decode
/// as single spaces. The model's own BOS/EOS are not added here (<see cref="TextTokenizer"/> adds its
/// [CLS]/[SEP] equivalents).
/// </summary>
internal sealed class SentencePieceEncoder : SubwordEncoder
{
    private readonly SentencePieceTokenizer _tokenizer;
    private readonly byte[] _modelFile;

    private SentencePieceEncoder(SentencePieceTokenizer tokenizer, byte[] modelFile)
    {
        (_tokenizer, _modelFile) = (tokenizer, modelFile);
        Count = tokenizer.Vocabulary.Values.Max() + 1;
    }

    public static SentencePieceEncoder Create(byte[] modelFile)
    {
        SentencePieceTokenizer tokenizer;
        try
        {
            tokenizer = SentencePieceTokenizer.Create(new MemoryStream(modelFile, writable: false), addBeginningOfSentence: false, addEndOfSentence: false);
        }
        catch (Exception e) when (e is InvalidProtocolBufferException or ArgumentException or InvalidOperationException or NotSupportedException)
        {
            throw new InvalidDataException($"Not a SentencePiece model Microsoft.ML.Tokenizers can load: {e.Message}", e);
        }
        if (tokenizer.Vocabulary.Count == 0) throw new InvalidDataException("The SentencePiece model has no pieces.");
        return new SentencePieceEncoder(tokenizer, modelFile);
    }

    /// <summary>The Microsoft.ML.Tokenizers tokenizer this encoder calls.</summary>
    public Tokenizer Inner => _tokenizer;

    public override TokenizerKind Kind => TokenizerKind.SentencePiece;

    public override int Count { get; }

    public override int? IdOf(string token) => _tokenizer.Vocabulary.TryGetValue(token, out var id) ? id : null;

    /// <summary>The model's own unknown id.</summary>
    public int ModelUnknownId => _tokenizer.UnknownId;

    public override bool Encode(ReadOnlySpan<char> text, List<int> ids, List<int> wordIds, int maxTokens) =>
        EncodeByWords(text, ids, wordIds, maxTokens);

    protected override int UnknownWordId => _tokenizer.UnknownId;

    protected override IReadOnlyList<int> EncodeWord(ReadOnlySpan<char> word) =>
        _tokenizer.EncodeToIds(word, addBeginningOfSentence: false, addEndOfSentence: false);

    public override string Decode(IReadOnlyList<int> ids) => _tokenizer.Decode(ids, considerSpecialTokens: false);

    public override void Write(BinaryWriter writer) => TokenizerFormat.WriteBytes(writer, _modelFile);

    public static SentencePieceEncoder Read(BinaryReader reader) =>
        Create(TokenizerFormat.ReadBytes(reader, "SentencePiece model"));
}
