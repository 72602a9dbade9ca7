namespace Pipelines;

public sealed partial class TextTokenizer
{
    /// <summary>
    /// Writes this tokenizer, vocabulary files included, so that <see cref="Load"/> needs nothing
    /// else on disk. (tiktoken vocabularies are stored by name: their data ship in the
    /// Microsoft.ML.Tokenizers.Data.* assemblies this library references.)
    /// </summary>
    public void Save(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        TokenizerFormat.Save(this, stream);
    }

    /// <summary>Reads a tokenizer written by <see cref="Save"/>.</summary>
    /// <exception cref="InvalidDataException">The bytes are not a valid saved tokenizer (the message says why).</exception>
    public static TextTokenizer Load(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        return TokenizerFormat.Load(stream, encoder => new TextTokenizer(encoder));
    }
}
