using System.Security.Cryptography;

namespace Pipelines;

public sealed partial class TextTokenizer
{
    private string? _fingerprint;

    /// <summary>
    /// SHA-256 (hex) of the saved tokenizer: equal for two tokenizers exactly when they encode alike
    /// (same vocabulary, rules and special tokens), whichever way each was created or loaded.
    /// </summary>
    public string Fingerprint => _fingerprint ??= ComputeFingerprint();

    private string ComputeFingerprint()
    {
        using var stream = new MemoryStream();
        Save(stream);
        return Convert.ToHexStringLower(SHA256.HashData(stream.GetBuffer().AsSpan(0, (int)stream.Length)));
    }

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
