%% grove_peer: grove-bench's benchmarks written the Erlang way, with
%% processes and messages, for the side-by-side comparison (scripts/bench.sh).
%%
%%   erl -noshell -pa DIR [+S 1] -run grove_peer main -extra [--quick] NAME...
%%
%% Prints `NAME VALUE UNIT` lines exactly as grove-bench does, with the same
%% names and units (each figure is the best of grove-bench's number of
%% repetitions; one with --quick, and one skynet per process), and halts with
%% status 1 if a result is wrong. The message loops are half grove-bench's
%% length (the rates do not depend on it); skynet and the idle processes are
%% the full million. The driver runs
%% it with +S 1 (one scheduler) and with the default (one per core).
%%
%%   spawn_join      ns per spawn + run + exit + receive its result
%%   actor_pingpong  msgs/s between two processes bouncing a ball
%%   call_roundtrip  ns per gen_server-style call (monitor, send, selective
%%                   receive on the reference, demonitor), as gen_server:call does
%%   actors_1m_idle  RSS bytes per process waiting in receive (1M processes)
%%   skynet          1M processes in a 10-ary tree summing their ids, seconds
%%   pipeline        msgs/s through source -> parse -> transform -> sink, the
%%                   source held to 64 messages in flight per stage by credit
%%
%% grove's several-hub benchmarks, run by the driver with the default
%% schedulers only (Erlang has no hubs: a process starts on its spawner's
%% scheduler and the schedulers' load balancing and work stealing move it;
%% nothing here binds a process to a scheduler):
%%
%%   cross_hub_pingpong  actor_pingpong, under the default schedulers
%%   cross_hub_call      call_roundtrip, under the default schedulers
%%   parallel_pingpong   total msgs/s of one ping-pong pair per online
%%                       scheduler, all at once; parallel_pingpong_ratio: over
%%                       the same pairs with schedulers_online set to 1
%%   skynet_hubs         skynet under the default schedulers (it spreads its
%%                       processes over every scheduler by itself)
%%   hubs_idle_cpu       % of a CPU used over 2 s by the VM, a server process
%%                       having answered 1000 calls and waiting
-module(grove_peer).
-export([main/0]).

main() ->
    Args = init:get_plain_arguments(),
    Quick = lists:member("--quick", Args),
    put(quick, Quick),
    Names = [A || A <- Args, A =/= "--quick"],
    All = ["spawn_join", "actor_pingpong", "call_roundtrip", "actors_1m_idle",
           "skynet", "pipeline", "cross_hub_pingpong", "cross_hub_call",
           "parallel_pingpong", "skynet_hubs", "hubs_idle_cpu"],
    lists:foreach(fun run/1, case Names of [] -> All; _ -> Names end),
    halt(0).

run("spawn_join") -> spawn_join();
run("actor_pingpong") -> actor_pingpong("actor_pingpong");
run("call_roundtrip") -> call_roundtrip("call_roundtrip");
run("actors_1m_idle") -> actors_1m_idle();
run("skynet") -> skynet("skynet");
run("pipeline") -> pipeline();
run("cross_hub_pingpong") -> actor_pingpong("cross_hub_pingpong");
run("cross_hub_call") -> call_roundtrip("cross_hub_call");
run("parallel_pingpong") -> parallel_pingpong();
run("skynet_hubs") -> skynet("skynet_hubs");
run("hubs_idle_cpu") -> hubs_idle_cpu();
run(Name) ->
    io:format(standard_error, "erlang-peer: unknown benchmark ~s~n", [Name]),
    halt(2).

size(Full, Small) -> case get(quick) of true -> Small; false -> Full end.

report(Name, Value, Unit) ->
    Decimals = case Value >= 100 of true -> 0; false -> 2 end,
    io:format("~s ~s ~s~n", [Name, float_to_list(float(Value), [{decimals, Decimals}]), Unit]).

fail(Name, Why) ->
    io:format(standard_error, "erlang-peer: ~s: ~s~n", [Name, Why]),
    halt(1).

now_s() -> erlang:monotonic_time(nanosecond) / 1.0e9.

%% best(Reps, min|max, Fun): the best of Reps runs of Fun.
best(Reps, Dir, Fun) ->
    Vs = [Fun() || _ <- lists:seq(1, case get(quick) of true -> 1; false -> Reps end)],
    case Dir of min -> lists:min(Vs); max -> lists:max(Vs) end.

%% ---- spawn_join -----------------------------------------------------------

spawn_join() ->
    N = size(100000, 20000),
    Ns = best(5, min, fun() ->
        T0 = now_s(),
        Sum = spawn_join_loop(0, N, 0),
        Dt = now_s() - T0,
        Sum =:= N * (N - 1) div 2 orelse fail("spawn_join", "wrong sum"),
        Dt * 1.0e9 / N
    end),
    report("spawn_join", Ns, "ns").

spawn_join_loop(N, N, Sum) -> Sum;
spawn_join_loop(I, N, Sum) ->
    Self = self(),
    Pid = spawn(fun() -> Self ! {self(), I} end),
    receive {Pid, V} -> spawn_join_loop(I + 1, N, Sum + V) end.

%% ---- actor_pingpong ---------------------------------------------------------

actor_pingpong(Name) ->
    N = size(1000000, 200000),
    Rate = best(3, max, fun() ->
        Self = self(),
        B = spawn(fun() -> player(Self, N) end),
        A = spawn(fun() -> player(Self, N) end),
        T0 = now_s(),
        A ! {ball, 1, B},
        receive done -> ok end,
        Dt = now_s() - T0,
        exit(A, kill), exit(B, kill),
        N / Dt
    end),
    report(Name, Rate / 1.0e6, "M msgs/s").

player(Main, N) ->
    receive
        {ball, N, _From} -> Main ! done;
        {ball, Hits, From} -> From ! {ball, Hits + 1, self()}, player(Main, N)
    end.

%% ---- call_roundtrip -----------------------------------------------------------

call_roundtrip(Name) ->
    N = size(500000, 100000),
    Server = spawn(fun echo_server/0),
    Ns = best(3, min, fun() ->
        T0 = now_s(),
        call_loop(Server, 0, N),
        (now_s() - T0) * 1.0e9 / N
    end),
    exit(Server, kill),
    report(Name, Ns, "ns").

call_loop(_, N, N) -> ok;
call_loop(Server, I, N) ->
    I = call(Server, I),
    call_loop(Server, I + 1, N).

%% What gen_server:call does, without the behaviour's generic layers.
call(Server, Request) ->
    Ref = erlang:monitor(process, Server),
    Server ! {call, {self(), Ref}, Request},
    receive
        {Ref, Reply} -> erlang:demonitor(Ref, [flush]), Reply;
        {'DOWN', Ref, _, _, Why} -> fail("call_roundtrip", io_lib:format("~p", [Why]))
    end.

echo_server() ->
    receive {call, {From, Ref}, Request} -> From ! {Ref, Request} end,
    echo_server().

%% ---- actors_1m_idle -------------------------------------------------------------

actors_1m_idle() ->
    N = size(1000000, 100000),
    erlang:garbage_collect(),
    M0 = rss_bytes(),
    Self = self(),
    Pids = [spawn(fun() -> Self ! started, idle() end) || _ <- lists:seq(1, N)],
    wait_n(started, N),
    M1 = rss_bytes(),
    Ended = length([exit(P, shutdown) || P <- Pids]),
    Ended =:= N orelse fail("actors_1m_idle", "not every process ended"),
    %% the list of pids (16 B per cell) is the benchmark's, not the processes'
    report("actors_1m_idle", (M1 - M0 - 16 * N) / N, "B/actor").

idle() -> receive stop -> ok end.

%% Resident memory, as the other runtimes measure it (not erlang:memory(),
%% which leaves out what the allocators hold but have not handed out).
rss_bytes() ->
    {ok, Statm} = file:read_file("/proc/self/statm"),
    [_, Pages | _] = string:lexemes(binary_to_list(Statm), " \n"),
    list_to_integer(Pages) * 4096.                  % 4 KiB pages (x86_64, most aarch64)

wait_n(_, 0) -> ok;
wait_n(Msg, N) -> receive Msg -> wait_n(Msg, N - 1) end.

%% ---- skynet -----------------------------------------------------------------------

skynet(Name) ->
    Size = size(1000000, 100000),
    S = best(1, min, fun() ->                % seconds each: one per process
        Self = self(),
        T0 = now_s(),
        spawn(fun() -> skynet(Self, 0, Size) end),
        Sum = receive {sum, V} -> V end,
        Dt = now_s() - T0,
        Sum =:= Size * (Size - 1) div 2 orelse fail(Name, "wrong sum"),
        Dt
    end),
    report(Name, S, "s").

skynet(Parent, Num, 1) -> Parent ! {sum, Num};
skynet(Parent, Num, Size) ->
    Step = Size div 10,
    Self = self(),
    [spawn(fun() -> skynet(Self, Num + I * Step, Step) end) || I <- lists:seq(0, 9)],
    Parent ! {sum, collect(10, 0)}.

collect(0, Sum) -> Sum;
collect(K, Sum) -> receive {sum, V} -> collect(K - 1, Sum + V) end.

%% ---- parallel_pingpong ------------------------------------------------------------
%% Pairs of player/2 processes, one pair per online scheduler, all balls
%% thrown at once; the time is until the last pair is done.

parallel_pingpong() ->
    N = size(1000000, 200000),
    Scheds = erlang:system_info(schedulers_online),
    Pairs = Scheds,
    Measure = fun() -> best(3, max, fun() -> Pairs * N / run_pairs(Pairs, N) end) end,
    erlang:system_flag(schedulers_online, 1),           % the same pairs on one scheduler
    One = Measure(),
    erlang:system_flag(schedulers_online, Scheds),
    All = Measure(),
    report("parallel_pingpong", All / 1.0e6, "M msgs/s"),
    report("parallel_pingpong_ratio", All / One, "x").

run_pairs(Pairs, N) ->
    Self = self(),
    Ps = [{spawn(fun() -> player(Self, N) end), spawn(fun() -> player(Self, N) end)}
          || _ <- lists:seq(1, Pairs)],
    T0 = now_s(),
    [A ! {ball, 1, B} || {A, B} <- Ps],
    wait_n(done, Pairs),
    Dt = now_s() - T0,
    [begin exit(A, kill), exit(B, kill) end || {A, B} <- Ps],
    Dt.

%% ---- hubs_idle_cpu ------------------------------------------------------------------

hubs_idle_cpu() ->
    Server = spawn(fun echo_server/0),
    [I = call(Server, I) || I <- lists:seq(1, 1000)],   % a little traffic first
    Secs = size(2, 1),
    C0 = cpu_s(), T0 = now_s(),
    timer:sleep(Secs * 1000),
    Pct = (cpu_s() - C0) / (now_s() - T0) * 100,
    exit(Server, kill),
    report("hubs_idle_cpu", Pct, "%").

%% The whole VM's CPU time: the sum over its threads of the nanoseconds
%% each has run (/proc/self/task/*/schedstat, first field), which is what
%% getrusage(RUSAGE_SELF) adds up for the other runtimes, to the nanosecond.
cpu_s() ->
    {ok, Tasks} = file:list_dir("/proc/self/task"),
    lists:sum([task_ns(T) || T <- Tasks]) / 1.0e9.

task_ns(T) ->
    case file:read_file("/proc/self/task/" ++ T ++ "/schedstat") of
        {ok, B} -> list_to_integer(hd(string:lexemes(binary_to_list(B), " \n")));
        _ -> 0                                         % a thread that has just ended
    end.

%% ---- pipeline ---------------------------------------------------------------------
%% Erlang mailboxes are unbounded; the 64-message bound of the other runtimes
%% is kept with credit: each stage acks every 32 messages it has taken, and a
%% sender keeps at most 64 unacknowledged messages in its next stage's mailbox.

-define(WINDOW, 64).
-define(ACK, 32).

pipeline() ->
    N = size(1000000, 200000),
    Rate = best(3, max, fun() ->
        Self = self(),
        Sink = spawn(fun() -> sink(Self, N, 0, 0) end),
        Transform = spawn(fun() -> stage(fun(V) -> V * 2 end, Sink, ?WINDOW, 0, N) end),
        Parse = spawn(fun() -> stage(fun(V) -> V + 1 end, Transform, ?WINDOW, 0, N) end),
        T0 = now_s(),
        source(Parse, 0, N, ?WINDOW),
        Sum = receive {pipeline_sum, S} -> S end,
        Dt = now_s() - T0,
        Sum =:= N * (N + 1) orelse fail("pipeline", "wrong sum"),
        3 * N / Dt                       % messages delivered between stages
    end),
    report("pipeline", Rate / 1.0e6, "M msgs/s").

source(_, N, N, _) -> ok;
source(Next, I, N, 0) -> receive {ack, K} -> source(Next, I, N, K) end;
source(Next, I, N, Credit) -> Next ! {v, self(), I}, source(Next, I + 1, N, Credit - 1).

%% Credit: how many more we may send to Next. Taken: messages since our last ack.
stage(_, _, _, _, 0) -> ok;
stage(F, Next, 0, Taken, Left) ->
    receive {ack, K} -> stage(F, Next, K, Taken, Left) end;
stage(F, Next, Credit, Taken, Left) ->
    receive
        {v, From, V} ->
            Next ! {v, self(), F(V)},
            stage(F, Next, Credit - 1, ack(From, Taken + 1), Left - 1);
        {ack, K} ->
            stage(F, Next, Credit + K, Taken, Left)
    end.

sink(Main, 0, Acc, _) -> Main ! {pipeline_sum, Acc};
sink(Main, Left, Acc, Taken) ->
    receive {v, From, V} -> sink(Main, Left - 1, Acc + V, ack(From, Taken + 1)) end.

%% Every ?ACK messages taken, give the sender ?ACK credits back.
ack(From, ?ACK) -> From ! {ack, ?ACK}, 0;
ack(_, Taken) -> Taken.
