namespace Pipelines;

/// <summary>
/// Sequence packing for language-model pretraining: documents are concatenated, each followed by a
/// separator id, and the stream is cut into blocks of exactly <c>blockSize</c> tokens, so no
/// position is wasted on padding (GPT-2's and nanoGPT's recipe). A document may span two blocks.
/// </summary>
public static class SequencePacker
{
    /// <summary>Packs <paramref name="documents"/> (token ids without special tokens) into blocks.</summary>
    /// <param name="documents">Token ids of each document, in order.</param>
    /// <param name="blockSize">Tokens per block.</param>
    /// <param name="separatorId">Id written after every document (e.g. <see cref="TextTokenizer.SepId"/>).</param>
    /// <param name="keepLastPartialBlock">Return the shorter last block too (the batcher then pads it); by default it is dropped.</param>
    public static IEnumerable<int[]> Pack(IEnumerable<int[]> documents, int blockSize, int separatorId, bool keepLastPartialBlock = false)
    {
        ArgumentNullException.ThrowIfNull(documents);
        ArgumentOutOfRangeException.ThrowIfLessThan(blockSize, 1);
        return PackCore(documents, blockSize, separatorId, keepLastPartialBlock);
    }

    private static IEnumerable<int[]> PackCore(IEnumerable<int[]> documents, int blockSize, int separatorId, bool keepLastPartialBlock)
    {
        var block = new int[blockSize];
        var filled = 0;
        foreach (var document in documents)
        {
            foreach (var id in (document ?? []).Append(separatorId))
            {
                block[filled++] = id;
                if (filled < blockSize) continue;
                yield return block;
                block = new int[blockSize];
                filled = 0;
            }
        }
        if (keepLastPartialBlock && filled > 0) yield return block[..filled];
    }

    /// <summary>
    /// Encodes <paramref name="texts"/> with <paramref name="tokenizer"/> (no special tokens, no
    /// length limit) and packs them with its <see cref="TextTokenizer.SepId"/> as separator.
    /// </summary>
    public static IEnumerable<int[]> Pack(TextTokenizer tokenizer, IEnumerable<string?> texts, int blockSize, bool keepLastPartialBlock = false)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentNullException.ThrowIfNull(texts);
        return Pack(texts.Select(t => tokenizer.Encode(t, maxLength: int.MaxValue, addSpecialTokens: false).Ids), blockSize, tokenizer.SepId, keepLastPartialBlock);
    }
}
