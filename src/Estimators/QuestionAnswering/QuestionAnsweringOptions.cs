namespace Pipelines;

/// <summary>
/// Options of extractive question answering: the columns, the windows long contexts are read in,
/// and SQuAD 2.0's "no answer". The fine-tuning options (start, strategy, regularisers, schedule)
/// are the classifiers'; <see cref="FineTuningOptions.MaxLength"/> is the window length (0: 256).
/// </summary>
public sealed class QuestionAnsweringOptions : FineTuningOptions
{
    /// <summary>The window length when <see cref="FineTuningOptions.MaxLength"/> is 0.</summary>
    public const int DefaultMaxLength = 256;

    /// <summary>The context column (String): the text answers are cut from.</summary>
    public string ContextColumnName { get; set; } = "Context";
    /// <summary>The question column (String).</summary>
    public string QuestionColumnName { get; set; } = "Question";
    /// <summary>
    /// The answer column for training: String, or a vector of String (the first is trained on). An
    /// empty answer is "no answer" with <see cref="AllowNoAnswer"/>, else a row not to train on.
    /// </summary>
    public string AnswerColumnName { get; set; } = "Answer";
    /// <summary>
    /// Where the answer starts in the context, in characters (Int32 or Single; SQuAD's answer_start), so that
    /// a repeated answer text is found at the right place; null, a column the data lacks, or a negative value: its first occurrence.
    /// </summary>
    public string? AnswerStartColumnName { get; set; } = "AnswerStart";
    /// <summary>Context tokens shared by consecutive windows of a context longer than one window (BERT's doc stride).</summary>
    public int DocumentOverlap { get; set; } = 64;
    /// <summary>Longest answer predicted, in tokens.</summary>
    public int MaxAnswerLength { get; set; } = 30;
    /// <summary>SQuAD 2.0: a question may have no answer in its context; predicted when the [CLS] span outscores every span.</summary>
    public bool AllowNoAnswer { get; set; }
    /// <summary>The output column of the answer text (String; empty for no answer).</summary>
    public string PredictedAnswerColumnName { get; set; } = "PredictedAnswer";

    internal int WindowLength => MaxLength > 0 ? MaxLength : DefaultMaxLength;

    internal override void Validate()
    {
        base.Validate();
        OptionChecks.Require(MaxLength is 0 or >= 16, nameof(MaxLength), MaxLength, "must hold a question and some context, at least 16 (0: 256)");
        OptionChecks.Require(DocumentOverlap >= 0, nameof(DocumentOverlap), DocumentOverlap, "must not be negative");
        OptionChecks.Require(MaxAnswerLength > 0, nameof(MaxAnswerLength), MaxAnswerLength, "must be positive");
        if (BalanceClasses) throw new ArgumentException("BalanceClasses weights classes, and question answering has none: leave it false.", nameof(BalanceClasses));
    }
}
