/*
 * Promela model of picket's vote (docs/consensus.md): leader election with one vote per
 * term, the lease-free failover decision, and the record merge of a new leader (Paxos
 * phase 1: adopt the highest-term record among the votes). One failure key; its value is
 * the chosen replica (1 or 2). Checked exhaustively by spin for N voters and terms up to
 * MAXTERM (check.sh).
 *
 * The network is a set of message pools: a vote or an accept request, once sent, may be
 * delivered at any later time, more than once, or never, in any order. Everything a
 * watcher holds is persisted before it answers (the persistence rule), so a crash and
 * restart is indistinguishable from a slow watcher and needs no separate step.
 *
 * Safety properties (asserts):
 *   - at most one leader per term;
 *   - at most one vote per (voter, term);
 *   - once a value is committed (held by a majority in some term), no other value is
 *     ever committed: at most one replica is ever acted on for the failure.
 * Build with -DNO_ADOPTION to see spin find the double failover that the merge prevents.
 */

#ifndef N
#define N 3
#endif
#ifndef MAXTERM
#define MAXTERM 3
#endif
#define MAJ (N / 2 + 1)
#define T (MAXTERM + 1)
#define IDX(v, t) ((v) * T + (t))

byte term[N];       /* current term (persisted) */
byte voted[N];      /* 1 + whom this watcher voted for in term[i]; 0 = nobody */
byte rterm[N];      /* term of the accepted record; 0 = no record (persisted) */
byte rval[N];       /* value of the accepted record: 1 or 2; 0 = none */

/* Pools of messages sent. */
bool campaigned[N * T];   /* candidate c asked for votes in term t */
byte gcand[N * T];        /* 1 + candidate that voter v voted for in t (its VOTEREPLY) */
byte grterm[N * T];       /* ... carrying the voter's record then (Paxos phase 1b) */
byte grval[N * T];
byte acc_val[T];          /* the leader of t asks to accept this value (HEARTBEAT) */
bool acked[N * T];        /* v accepted acc_val[t] in t (HBREPLY) */

byte leader_of[T];        /* 1 + leader of term t */
byte chosen;              /* the first committed value */

inline vote(vi, vc, vt) {
    /* A voter grants at most one vote per term; a higher term clears its vote. */
    assert(gcand[IDX(vi, vt)] == 0 || gcand[IDX(vi, vt)] == vc + 1);
    term[vi] = vt;
    voted[vi] = vc + 1;
    gcand[IDX(vi, vt)] = vc + 1;
    grterm[IDX(vi, vt)] = rterm[vi];
    grval[IDX(vi, vt)] = rval[vi]
}

proctype Watcher(byte i) {
    byte t, c, v, n, best, val;
    /* Every branch starts with its enabling condition; choices made by `select` that turn
       out not to be enabled fall through to `skip`, so a watcher never blocks inside a step.
       The end label makes "nothing left to do" a valid end state. */
end:
    do
    :: /* Election timeout: campaign in the next term, voting for itself (§5.2). */
       atomic {
           term[i] < MAXTERM ->
           t = term[i] + 1;
           campaigned[IDX(i, t)] = true;
           c = i;
           vote(i, c, t);
           t = 0; c = 0
       }
    :: /* Deliver some candidate's RequestVote, however late. */
       atomic {
           select(c : 0 .. N - 1);
           select(t : 1 .. MAXTERM);
           if
           :: c != i && campaigned[IDX(c, t)] &&
              (term[i] < t || (term[i] == t && (voted[i] == 0 || voted[i] == c + 1))) ->
              vote(i, c, t)
           :: else -> skip
           fi;
           t = 0; c = 0
       }
    :: /* Count votes: a majority for us in our current term makes us leader. */
       atomic {
           term[i] > 0 && voted[i] == i + 1 && leader_of[term[i]] != i + 1 ->
           t = term[i];
           n = 0; best = 0; val = 0; v = 0;
           do
           :: v < N ->
              if
              :: gcand[IDX(v, t)] == i + 1 ->
                 n++;
                 if
                 :: grterm[IDX(v, t)] > best -> best = grterm[IDX(v, t)]; val = grval[IDX(v, t)]
                 :: else -> skip
                 fi
              :: else -> skip
              fi;
              v++
           :: else -> break
           od;
           if
           :: n >= MAJ ->
              assert(leader_of[t] == 0);   /* at most one leader per term */
              leader_of[t] = i + 1;
#ifdef NO_ADOPTION
              val = 0;
#endif
              if
              :: val == 0 ->   /* no record among the votes: decide afresh (ODOWN) */
                 if
                 :: val = 1
                 :: val = 2
                 fi
              :: else -> skip  /* Paxos phase 1: re-propose the highest-term record */
              fi;
              acc_val[t] = val;
              rterm[i] = t; rval[i] = val; acked[IDX(i, t)] = true
           :: else -> skip
           fi;
           t = 0; n = 0; best = 0; val = 0; v = 0
       }
    :: /* Deliver some leader's heartbeat (accept request) of a term not below ours. */
       atomic {
           select(t : 1 .. MAXTERM);
           if
           :: acc_val[t] != 0 && t >= term[i] ->
              if
              :: t > term[i] -> term[i] = t; voted[i] = 0
              :: else -> skip
              fi;
              rterm[i] = t; rval[i] = acc_val[t]; acked[IDX(i, t)] = true
           :: else -> skip
           fi;
           t = 0
       }
    :: /* A majority acknowledged term t's record: committed, may be acted on. */
       atomic {
           select(t : 1 .. MAXTERM);
           n = 0; v = 0;
           do
           :: v < N -> if :: acked[IDX(v, t)] -> n++ :: else -> skip fi; v++
           :: else -> break
           od;
           if
           :: acc_val[t] != 0 && n >= MAJ ->
              if
              :: chosen == 0 -> chosen = acc_val[t]
              :: else -> assert(chosen == acc_val[t])  /* one replica per failure */
              fi
           :: else -> skip
           fi;
           t = 0; n = 0; v = 0
       }
    od
}

init {
    atomic {
        byte k = 0;
        do
        :: k < N -> run Watcher(k); k++
        :: else -> break
        od
    }
}
