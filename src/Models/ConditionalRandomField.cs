using Pipelines.Models.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Pipelines.Models;

/// <summary>
/// A linear-chain conditional random field over a tagger's per-word scores (Lafferty et al., 2001;
/// the CRF of BiLSTM-CRF and BERT-CRF taggers): learned scores for the first tag, each transition
/// and the last tag, trained by the negative log-likelihood of the gold sequence (the forward
/// algorithm) and decoded by Viterbi. Transitions a tagging scheme forbids (an I- tag after O) can be
/// given; they are kept impossible in training and decoding, so the CRF learns only among valid ones.
/// Parameters are named as pytorch-crf names them (start_transitions, end_transitions, transitions).
/// </summary>
public sealed class ConditionalRandomField : nn.Module
{
    private const float Forbidden = -10_000f;
    private readonly Parameter start_transitions;
    private readonly Parameter end_transitions;
    private readonly Parameter transitions;
    private readonly float[] _forbiddenStart, _forbidden;

    /// <summary>A CRF over <paramref name="tags"/> tags; <paramref name="allowed"/> (from, to) and <paramref name="allowedFirst"/>, when given, rule out the rest.</summary>
    public ConditionalRandomField(int tags, bool[,]? allowed = null, bool[]? allowedFirst = null) : base(nameof(ConditionalRandomField))
    {
        if (tags < 2) throw new ArgumentOutOfRangeException(nameof(tags), tags, "A CRF needs at least two tags.");
        if (allowed is not null && (allowed.GetLength(0) != tags || allowed.GetLength(1) != tags))
            throw new ArgumentException($"The allowed transitions must be {tags} x {tags}.", nameof(allowed));
        if (allowedFirst is not null && allowedFirst.Length != tags) throw new ArgumentException($"The allowed first tags must be {tags}.", nameof(allowedFirst));
        // pytorch-crf's initialisation: uniform in [-0.1, 0.1].
        start_transitions = new Parameter(empty(tags).uniform_(-0.1, 0.1));
        end_transitions = new Parameter(empty(tags).uniform_(-0.1, 0.1));
        transitions = new Parameter(empty(tags, tags).uniform_(-0.1, 0.1));
        _forbidden = new float[tags * tags];
        for (var i = 0; i < tags; i++)
            for (var j = 0; j < tags; j++)
                if (allowed is not null && !allowed[i, j]) _forbidden[i * tags + j] = Forbidden;
        _forbiddenStart = Enumerable.Range(0, tags).Select(j => allowedFirst is not null && !allowedFirst[j] ? Forbidden : 0f).ToArray();
        RegisterComponents();
    }

    /// <summary>Number of tags.</summary>
    public long Tags => start_transitions.shape[0];

    /// <summary>
    /// Mean over sequences of -log p(gold tags | scores): <paramref name="emissions"/> (B, W, K) per-word
    /// scores, <paramref name="tags"/> (B, W) gold tag indices, <paramref name="mask"/> (B, W) bool, true
    /// on each sequence's words (a prefix; every sequence has at least one).
    /// </summary>
    public Tensor NegativeLogLikelihood(Tensor emissions, Tensor tags, Tensor mask)
    {
        var words = emissions.shape[1];
        var (start, transition) = Constrained(emissions.device);
        emissions = emissions.to(ScalarType.Float32);
        // The gold path's score and the log-partition, position by position.
        var gold = start.index_select(0, tags[.., 0]) + emissions[.., 0].gather(1, tags[.., 0].unsqueeze(1)).squeeze(1);      // (B)
        var alpha = start.unsqueeze(0) + emissions[.., 0];                                                                    // (B, K)
        for (var t = 1; t < words; t++)
        {
            var on = mask[.., t];
            var step = transition[tags[.., t - 1], tags[.., t]] + emissions[.., t].gather(1, tags[.., t].unsqueeze(1)).squeeze(1);
            gold = gold + step * on.to(ScalarType.Float32);
            var next = (alpha.unsqueeze(2) + transition.unsqueeze(0) + emissions[.., t].unsqueeze(1)).logsumexp(1);          // (B, K)
            alpha = where(on.unsqueeze(1), next, alpha);
        }
        var last = tags.gather(1, (mask.to(ScalarType.Int64).sum(1) - 1).unsqueeze(1)).squeeze(1);
        gold = gold + end_transitions.index_select(0, last);
        var partition = (alpha + end_transitions.unsqueeze(0)).logsumexp(1);
        return (partition - gold).mean();
    }

    /// <summary>The best tag sequence for one sequence's per-word scores (words x tags), by Viterbi with the learned and forbidden scores.</summary>
    public int[] Decode(IReadOnlyList<float[]> emissions) => Decoder()(emissions);

    /// <summary>
    /// <see cref="Decode"/> with the scores read from the device once: for decoding a batch of sequences
    /// without copying the transitions to the host for each.
    /// </summary>
    public Func<IReadOnlyList<float[]>, int[]> Decoder()
    {
        var (start, transition, end) = Scores();
        var k = start.Length;
        return emissions => Viterbi.Decode(emissions, (i, j) => transition[i * k + j], j => start[j], j => end[j]);
    }

    /// <summary>The first-tag, transition (from x to, row-major) and last-tag scores on the host, forbidden ones included as -10,000.</summary>
    public (float[] Start, float[] Transitions, float[] End) Scores()
    {
        using var _ = no_grad();
        var start = start_transitions.cpu().data<float>().ToArray();
        var transition = transitions.cpu().data<float>().ToArray();
        for (var j = 0; j < start.Length; j++) start[j] += _forbiddenStart[j];
        for (var i = 0; i < transition.Length; i++) transition[i] += _forbidden[i];
        return (start, transition, end_transitions.cpu().data<float>().ToArray());
    }

    // The start and transition scores with the forbidden ones pushed down, on the device.
    private (Tensor Start, Tensor Transition) Constrained(Device device) =>
        (start_transitions + tensor(_forbiddenStart, device: device), transitions + tensor(_forbidden, [Tags, Tags], device: device));
}
