using Google.Protobuf;
using Microsoft.ML.Tokenizers;

namespace Pipelines;

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
        RequireSpecs(modelFile);
        SentencePieceTokenizer tokenizer;
        try
        {
            tokenizer = SentencePieceTokenizer.Create(new MemoryStream(modelFile, writable: false), addBeginningOfSentence: false, addEndOfSentence: false);
        }
        catch (Exception e) when (e is not InvalidDataException and not OutOfMemoryException)
        {
            // Microsoft.ML.Tokenizers assumes a well-formed model: a damaged one can end in any exception
            // (NullReferenceException for a missing name, for one), which we report as what it is.
            throw new InvalidDataException($"Not a SentencePiece model Microsoft.ML.Tokenizers can load: {e.GetType().Name}: {e.Message}", e);
        }
        if (tokenizer.Vocabulary.Count == 0) throw new InvalidDataException("The SentencePiece model has no pieces.");
        var encoder = new SentencePieceEncoder(tokenizer, modelFile);
        if (encoder.ModelUnknownId < 0 || encoder.ModelUnknownId >= encoder.Count)
            throw new InvalidDataException($"The SentencePiece model's unknown id {encoder.ModelUnknownId} is not one of its {encoder.Count} pieces.");
        return encoder;
    }

    // The library dereferences trainer_spec and normalizer_spec without checking that the file has
    // them (a truncated file ends in a NullReferenceException): check the top-level fields first.
    private static void RequireSpecs(byte[] modelFile)
    {
        var (pieces, trainer, normalizer) = (false, false, false);
        try
        {
            var input = new CodedInputStream(modelFile);
            for (var tag = input.ReadTag(); tag != 0; tag = input.ReadTag())
            {
                switch (WireFormat.GetTagFieldNumber(tag))
                {
                    case 1: pieces = true; break;
                    case 2: trainer = true; break;
                    case 3: normalizer = true; break;
                }
                input.SkipLastField();
            }
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new InvalidDataException($"Not a SentencePiece model: {e.Message}", e);
        }
        if (!pieces || !trainer || !normalizer)
            throw new InvalidDataException("Not a complete SentencePiece model: it lacks " +
                string.Join(", ", new[] { (pieces, "pieces"), (trainer, "trainer_spec"), (normalizer, "normalizer_spec") }.Where(p => !p.Item1).Select(p => p.Item2)) + ".");
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

    protected override IReadOnlyList<int> EncodeWord(ReadOnlySpan<char> word)
    {
        var ids = _tokenizer.EncodeToIds(word, addBeginningOfSentence: false, addEndOfSentence: false);
        // A model whose special ids point past its pieces must not hand out ids outside the vocabulary.
        return ids.Any(id => id < 0 || id >= Count) ? ids.Select(id => id < 0 || id >= Count ? _tokenizer.UnknownId : id).ToList() : ids;
    }

    public override string Decode(IReadOnlyList<int> ids) => _tokenizer.Decode(ids, considerSpecialTokens: false);

    public override void Write(BinaryWriter writer) => TokenizerFormat.WriteBytes(writer, _modelFile);

    public static SentencePieceEncoder Read(BinaryReader reader) =>
        Create(TokenizerFormat.ReadBytes(reader, "SentencePiece model"));
}
